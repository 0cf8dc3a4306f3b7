"""Request and response bodies of the model service (the OpenAPI schema comes from here).

The rows of stored tables are not restated: ``row_model`` derives them from the table
contracts, so a column added to a contract is served with no edit here.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model, field_validator

from fx_assets.core.contracts import BACKTEST_SUMMARY, DRIFT, PERFORMANCE, PREDICTIONS
from fx_assets.core.domain import FEATURES
from fx_assets.core.models.inference import MAX_BATCH
from fx_assets.core.models.ranges import from_column
from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.readmodel.rows import row_model

# Features of EUR/USD on Friday 2024-06-28 (ECB fixings, the seven majors' book): a
# realistic row for the docs.
EXAMPLE_ROW: dict[str, float] = {
    "ret_1d": 0.000841082,
    "ret_lag_1": 0.000654665,
    "ret_lag_2": -0.00233612,
    "ret_lag_3": -0.00149226,
    "ret_lag_4": 0.00392194,
    "ret_5d": 0.00158931,
    "ret_20d": -0.0136385,
    "ma_ratio_5": -0.000168117,
    "ma_ratio_20": -0.00501905,
    "ma_ratio_60": -0.00564751,
    "vol_5": 0.00243397,
    "vol_20": 0.00421413,
    "vol_60": 0.0036041,
    "rsi_14": 43.2139,
    "macd": -0.00275368,
    "macd_signal": -0.00220985,
    "macd_hist": -0.000543834,
    "day_of_week": 4.0,
    "usd_move_1d": 0.0006229,
    "usd_move_5d": 0.00402633,
    "usd_move_20d": 0.00674913,
    "mom_rank_20": 0.0,
    "mom_rank_60": 0.0,
}

# No feature comes near this: returns, ratios and volatilities are fractions, RSI is 0 to
# 100, day_of_week 0 to 6. Beyond it a value is a unit or typing error, and could overflow
# a model's arithmetic into a NaN probability.
FEATURE_LIMIT = 1e6

# Strict: a string, boolean or null is refused rather than coerced; NaN and infinity too.
FeatureValue = Annotated[
    float, Field(strict=True, allow_inf_nan=False, ge=-FEATURE_LIMIT, le=FEATURE_LIMIT)
]

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    # Lax date parsing would read "0" or "1700000000" as a Unix timestamp.
    if isinstance(value, str) and not ISO_DATE.fullmatch(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]

FeatureRow: type[BaseModel] = create_model(
    "FeatureRow",
    __config__=ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_ROW]}),
    __doc__="One day's features, named as in fx_final; every feature required, no other.",
    **{name: (FeatureValue, Field(examples=[EXAMPLE_ROW.get(name, 0.0)])) for name in FEATURES},
)


PAIR_FIELD = Field(
    DEFAULT_PAIR,
    max_length=16,
    description="The pair, base then quote (EURUSD); one of the book's (`GET /pairs`).",
    examples=["EURUSD"],
)


class PredictRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"pair": DEFAULT_PAIR, "rows": [EXAMPLE_ROW]}]},
    )

    pair: str = PAIR_FIELD
    rows: list[FeatureRow] = Field(  # type: ignore[valid-type]
        min_length=1,
        max_length=MAX_BATCH,
        description=f"Feature rows to score, 1 to {MAX_BATCH} per request.",
    )


class OutOfRange(BaseModel):
    side: str = Field(description="above the largest or below the smallest training value")
    value: float = Field(description="The row's value.")
    limit: float = Field(description="The training range's bound it passed.")
    factor: float | None = Field(description="value / limit (none when the limit is 0).")


OUT_OF_RANGE = Field(
    default_factory=dict,
    description="Features outside the champion's training ranges, with how far; empty when"
    " all are in range: such a forecast comes from inputs the model never saw.",
)


class Prediction(BaseModel):
    probability_up: float = Field(description="P(next close higher), from the champion.")
    direction: int = Field(description="1 (up) when probability_up >= 0.5, else 0.")
    out_of_range: dict[str, OutOfRange] = OUT_OF_RANGE


class PredictResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "pair": "EURUSD",
                    "model_name": "eur_usd_direction",
                    "model_version": "3",
                    "predictions": [{"probability_up": 0.5213, "direction": 1, "out_of_range": {}}],
                }
            ]
        }
    )

    pair: str
    model_name: str
    model_version: str
    predictions: list[Prediction]


class ModelCard(BaseModel):
    pair: str = Field(DEFAULT_PAIR, examples=["EURUSD"])
    name: str = Field(examples=["eur_usd_direction"])
    version: str = Field(examples=["3"])
    run_id: str
    features: list[str] = Field(description="Input features, in model order.")
    training_cutoff: date = Field(description="Last training date; predictions start after it.")
    test_pr_auc: float | None = Field(description="PR-AUC on the held-out test set.")
    baseline_pr_auc: float | None = Field(description="PR-AUC of always predicting up.")
    loaded_at: datetime = Field(description="When this service loaded the version (UTC).")
    decision: str | None = Field(default=None, description="Why it became the champion.")
    decision_policy: str | None = Field(
        default=None, description="FX_PROMOTION_POLICY of that decision: margin or significant."
    )
    decision_lift: float | None = Field(
        default=None, description="Its PR-AUC lift over the champion it replaced (same days)."
    )
    decision_lift_ci_low: float | None = Field(
        default=None, description="The lift's paired block-bootstrap 95 % interval, low."
    )
    decision_lift_ci_high: float | None = Field(default=None, description="Its high end.")
    feature_ranges: dict[str, list[float]] | None = Field(
        default=None,
        description="Each feature's [min, max] over the training rows (none: an older version).",
    )


# The stored rows, as their table contracts declare them (fields, types, descriptions).
DriftRow = row_model(DRIFT, name="DriftRow")
PerformanceRow = row_model(PERFORMANCE, name="PerformanceRow")
BacktestRow = row_model(BACKTEST_SUMMARY, name="BacktestRow")
_PredictionRow = row_model(PREDICTIONS, name="_PredictionRow", exclude=("out_of_range",))


class StoredPrediction(_PredictionRow):  # type: ignore[misc, valid-type]
    """A stored prediction; its ``out_of_range`` column (JSON text) served as an object."""

    out_of_range: dict[str, OutOfRange] = Field(
        default_factory=dict,
        description=next(c.description for c in PREDICTIONS.columns if c.name == "out_of_range"),
    )

    @field_validator("out_of_range", mode="before")
    @classmethod
    def _stored_json(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else from_column(value)


class Forecast(StoredPrediction):  # type: ignore[misc, valid-type]
    """A stored prediction as served: with how current the data behind it is."""

    data_as_of: date | None = Field(
        description="The pair's newest bar in fx_raw: the data every forecast is made from."
    )
    stale: bool = Field(
        description="True when the target day is already past, or the data is more than "
        "FX_STALE_AFTER_DAYS trading days behind the last completed trading day."
    )


class ScoredPrediction(Forecast):
    actual: int | None = Field(description="1 if the target day closed higher; null if unknown.")
    correct: bool | None = Field(description="direction == actual; null while unknown.")


class Status(BaseModel):
    status: str
    model_version: str | None = None


class ErrorBody(BaseModel):
    detail: Any = Field(description="What was wrong: a message, or the invalid fields.")


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="Where: body or query, then the field path.")
    msg: str
    type: str


class FieldErrors(BaseModel):
    detail: list[FieldError]


class Backtest(BaseModel):
    pair: str
    verdict: str = Field(examples=["not distinguishable from always-up, p = 0.41"])
    verdicts: dict[str, str] = Field(description="The model against each baseline, in words.")
    strategies: list[BacktestRow]  # type: ignore[valid-type]
    trading_note: str


class MonitoringReport(BaseModel):
    pair: str
    drift: list[DriftRow] = Field(  # type: ignore[valid-type]
        description="the newest window, one row per feature"
    )
    performance: list[PerformanceRow] = Field(  # type: ignore[valid-type]
        description="the newest rows, one per window"
    )


class Skill(BaseModel):
    verdict: str = Field(
        description="The model against always-up in words; the adjusted verdict once the"
        " book's multiple-testing table exists (`adjusted`)."
    )
    adjusted: bool = Field(description="Corrected for testing every pair of the book.")
    p_value: float | None = Field(description="The model against always-up, unadjusted.")
    p_bh: float | None = Field(description="Benjamini-Hochberg adjusted (none: not yet).")
    p_holm: float | None = Field(description="Holm adjusted (none: not yet).")
    skilful: bool | None = Field(description="Better than always-up at p < 0.05, unadjusted.")
    skilful_adjusted: bool | None = Field(description="The same after adjustment.")


class PairChampion(BaseModel):
    version: str
    family: str | None = Field(description="logistic_regression, xgboost, ...")
    since: datetime | None = Field(description="When it was promoted (UTC).")
    age_days: int | None = Field(description="Days it has been champion.")
    served: bool = Field(description="This service has loaded exactly this version.")


class PairForecast(BaseModel):
    feature_date: date
    target_date: date
    probability_up: float
    direction: int
    model_version: str


class PairEntry(BaseModel):
    pair: str = Field(examples=["GBPUSD"])
    label: str = Field(examples=["GBP/USD"])
    model_name: str = Field(examples=["gbp_usd_direction"])
    champion: PairChampion | None = Field(description="None: no champion yet (see `problem`).")
    problem: str | None = Field(description="Why the pair has no champion served.")
    forecast: PairForecast | None = Field(description="The newest stored forecast.")
    data_as_of: date | None = Field(description="The pair's newest bar.")
    trading_days_behind: int
    stale: bool = Field(description="More than FX_STALE_AFTER_DAYS trading days behind.")
    skill: Skill | None = Field(description="None before the pair's first backtest.")
    drifted: bool | None = Field(description="The newest drift run's verdict (none: no run).")
    drift: str | None
    decayed: bool | None = Field(description="The newest performance run's verdict.")
    decay: str | None


class BookReport(BaseModel):
    headline: str | None = Field(description="The book's skill verdict in one line.")
    adjusted: bool = Field(description="The headline is corrected for testing many pairs.")
    pairs: list[PairEntry]
