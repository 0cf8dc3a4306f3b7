"""pandera schemas for the warehouse tables, and one-line validation errors.

A batch is validated before it is written (bad data never lands) and the stored
tables are validated again by blocking asset checks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from fx_assets.core.features import FEATURES, TARGET
from fx_assets.core.models.champion import THRESHOLD

# The largest EUR/USD daily move since 1999 is about 4.7% (2008); 15% means a bad tick.
MAX_DAILY_LOG_MOVE = 0.15


class DataValidationError(ValueError):
    """A batch broke its table's contract; the message names the offending rows."""


def _sorted_unique(df: pd.DataFrame) -> bool:
    return bool(df["date"].is_monotonic_increasing and df["date"].is_unique)


def _no_weekend(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s).dt.dayofweek < 5


def _high_ok(df: pd.DataFrame) -> pd.Series:
    hi = df["high"]
    top = df[["open", "close"]].max(axis=1)
    return hi.isna() | (hi >= top - 1e-12)


def _low_ok(df: pd.DataFrame) -> pd.Series:
    lo = df["low"]
    bottom = df[["open", "close"]].min(axis=1)
    return lo.isna() | (lo <= bottom + 1e-12)


def _plausible_move(df: pd.DataFrame) -> pd.Series:
    moves = np.log(df["close"].astype(float)).diff().abs()
    return moves.isna() | (moves <= MAX_DAILY_LOG_MOVE)


_price = {"dtype": float, "checks": pa.Check.gt(0)}

RAW_SCHEMA = pa.DataFrameSchema(
    {
        "date": pa.Column("datetime64[ns]", checks=pa.Check(_no_weekend, element_wise=False)),
        "open": pa.Column(nullable=True, **_price),
        "high": pa.Column(nullable=True, **_price),
        "low": pa.Column(nullable=True, **_price),
        "close": pa.Column(nullable=False, **_price),
    },
    checks=[
        pa.Check(_sorted_unique, name="dates_sorted_unique"),
        pa.Check(_high_ok, name="high_at_least_open_close"),
        pa.Check(_low_ok, name="low_at_most_open_close"),
        pa.Check(_plausible_move, name="plausible_daily_move"),
    ],
    coerce=True,
    name="eur_usd_raw",
)

STAGING_SCHEMA = pa.DataFrameSchema(
    {
        "date": pa.Column("datetime64[ns]"),
        "close": pa.Column(float, pa.Check.gt(0)),
        **{f: pa.Column(float, nullable=True) for f in FEATURES},
    },
    checks=[pa.Check(_sorted_unique, name="dates_sorted_unique")],
    coerce=True,
    name="eur_usd_staging",
)


def _only_newest_target_null(df: pd.DataFrame) -> bool:
    nulls = df[TARGET].isna()
    return bool(nulls.sum() == 0 or (nulls.sum() == 1 and nulls.iloc[-1]))


def model_table_schema(name: str, *, target_nullable: bool) -> pa.DataFrameSchema:
    checks = [pa.Check(_sorted_unique, name="dates_sorted_unique")]
    if target_nullable:
        checks.append(pa.Check(_only_newest_target_null, name="only_newest_target_null"))
    return pa.DataFrameSchema(
        {
            "date": pa.Column("datetime64[ns]"),
            **{
                f: pa.Column(float, pa.Check(lambda s: np.isfinite(s), name="finite"))
                for f in FEATURES
            },
            TARGET: pa.Column("Int64", pa.Check.isin([0, 1]), nullable=target_nullable),
        },
        checks=checks,
        coerce=True,
        strict="filter",
        name=name,
    )


FINAL_SCHEMA = model_table_schema("eur_usd_final", target_nullable=True)
TRAIN_SCHEMA = model_table_schema("eur_usd_train", target_nullable=False)
TEST_SCHEMA = model_table_schema("eur_usd_test", target_nullable=False)


def validate(schema: pa.DataFrameSchema, df: pd.DataFrame, *, max_rows: int = 5) -> pd.DataFrame:
    """Validate every check at once; on failure raise one line naming the bad rows."""
    try:
        return schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        raise DataValidationError(
            describe_failures(schema.name or "batch", df, exc, max_rows)
        ) from None


def describe_failures(
    name: str, df: pd.DataFrame, exc: pa.errors.SchemaErrors, max_rows: int = 5
) -> str:
    cases = exc.failure_cases
    parts: list[str] = []
    for (column, check), group in cases.groupby(["column", "check"], dropna=False, sort=False):
        where = str(column) if isinstance(column, str) else "table"
        idx = [int(i) for i in group["index"].dropna().unique()[:max_rows] if i == i]
        if idx and "date" in df.columns:
            dates = [str(pd.Timestamp(df["date"].iloc[i]).date()) for i in idx if i < len(df)]
            rows = ", ".join(dates)
        else:
            rows = ", ".join(str(v) for v in group["failure_case"].unique()[:max_rows])
        more = len(group) - len(idx) if idx else 0
        suffix = f" (+{more} more)" if more > 0 else ""
        parts.append(f"{where} failed {check} at {rows}{suffix}")
    return f"{name}: {len(cases)} failing value(s): " + "; ".join(parts)


def _direction_matches_threshold(df: pd.DataFrame) -> pd.Series:
    return df["direction"] == (df["probability_up"] >= THRESHOLD).astype(int)


def _target_after_feature(df: pd.DataFrame) -> pd.Series:
    return df["target_date"] > df["feature_date"]


def _feature_dates_unique(df: pd.DataFrame) -> bool:
    return bool(df["feature_date"].is_unique)


_non_empty = pa.Check(lambda s: s.astype(str).str.strip().str.len() > 0, name="non_empty")

PREDICTIONS_SCHEMA = pa.DataFrameSchema(
    {
        "feature_date": pa.Column("datetime64[ns]", checks=pa.Check(_no_weekend)),
        "target_date": pa.Column("datetime64[ns]", checks=pa.Check(_no_weekend)),
        "probability_up": pa.Column(float, pa.Check.in_range(0.0, 1.0)),
        "direction": pa.Column(int, pa.Check.isin([0, 1])),
        "model_name": pa.Column(str, _non_empty),
        "model_version": pa.Column(str, _non_empty),
        "predicted_at": pa.Column("datetime64[ns, UTC]"),
    },
    checks=[
        pa.Check(_feature_dates_unique, name="feature_dates_unique"),
        pa.Check(_target_after_feature, name="target_after_feature_date"),
        pa.Check(_direction_matches_threshold, name="direction_matches_threshold"),
    ],
    coerce=True,
    name="eur_usd_predictions",
)
