"""Predictions against outcomes: the arithmetic behind the accuracy panel, as plain functions.

A prediction is *resolved* once ``eur_usd_final`` knows the target of its feature date
(did the next trading day close higher). The always-up baseline is scored on exactly the
same resolved predictions, so every percentage on the page compares like with like.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from fx_assets.core.contracts import PREDICTIONS
from fx_assets.core.evaluation import stats

PREDICTION_COLUMNS = PREDICTIONS.column_names
WINDOWS = (60, 20)
ROLLING_WINDOW = 20


def join_outcomes(predictions: pd.DataFrame | None, final: pd.DataFrame | None) -> pd.DataFrame:
    """Predictions, oldest first, with ``actual`` (target of the feature date, <NA> if not
    known yet) and ``correct`` (<NA> until resolved)."""
    if predictions is None or predictions.empty:
        out = pd.DataFrame({c: pd.Series(dtype="object") for c in PREDICTION_COLUMNS})
        out["actual"] = pd.Series(dtype="Int64")
        out["correct"] = pd.Series(dtype="boolean")
        return out
    preds = predictions[PREDICTION_COLUMNS].copy()
    preds["feature_date"] = pd.to_datetime(preds["feature_date"])
    preds["target_date"] = pd.to_datetime(preds["target_date"])
    preds["direction"] = preds["direction"].astype("Int64")
    if final is None or final.empty:
        targets = pd.Series(dtype="Int64")
    else:
        targets = pd.Series(
            final["target"].astype("Int64").to_numpy(), index=pd.to_datetime(final["date"])
        )
    preds["actual"] = preds["feature_date"].map(targets).astype("Int64")
    preds["correct"] = (preds["direction"] == preds["actual"]).astype("boolean")
    return preds.sort_values("feature_date").reset_index(drop=True)


def resolved(joined: pd.DataFrame) -> pd.DataFrame:
    """The predictions whose outcome is known, oldest first."""
    return joined[joined["actual"].notna()].reset_index(drop=True)


@dataclass(frozen=True)
class Accuracy:
    """Directional accuracy of the model and of always-up over the same predictions."""

    label: str
    window: int | None  # None: every resolved prediction
    n: int
    hits: int
    baseline_hits: int
    first: date | None
    last: date | None
    # The accuracy's 95 % moving-block bootstrap interval (core.evaluation.stats).
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def accuracy(self) -> float | None:
        return self.hits / self.n if self.n else None

    @property
    def baseline_accuracy(self) -> float | None:
        return self.baseline_hits / self.n if self.n else None

    @property
    def complete(self) -> bool:
        """False when fewer predictions are resolved than the window asks for."""
        return self.window is None or self.n >= self.window


def _score(done: pd.DataFrame, window: int | None) -> Accuracy:
    if window is not None:
        done = done.tail(window)
    n = len(done)
    correct = done["correct"].to_numpy(dtype=bool)
    # Always-up predicts 1 every day: it is right exactly when the target is 1.
    ups = done["actual"].to_numpy(dtype=int) == 1
    interval = (
        stats.mean_interval(correct.astype(float), block=stats.block_for(n), resamples=1000)
        if n > 1
        else None
    )
    return Accuracy(
        label="overall" if window is None else f"last {window}",
        window=window,
        n=n,
        hits=int(correct.sum()),
        baseline_hits=int(ups.sum()),
        first=done["feature_date"].iloc[0].date() if n else None,
        last=done["feature_date"].iloc[-1].date() if n else None,
        ci_low=interval.low if interval else None,
        ci_high=interval.high if interval else None,
    )


def accuracy(joined: pd.DataFrame, window: int | None = None) -> Accuracy:
    """Accuracy over the newest ``window`` resolved predictions (all of them if None)."""
    return _score(resolved(joined), window)


def accuracy_summary(joined: pd.DataFrame) -> list[Accuracy]:
    """Overall, then the newest 60 and 20 resolved predictions."""
    done = resolved(joined)
    return [_score(done, None), *(_score(done, w) for w in WINDOWS)]


def rolling_accuracy(joined: pd.DataFrame, window: int = ROLLING_WINDOW) -> pd.DataFrame:
    """Per resolved prediction: model and always-up accuracy over the trailing ``window``."""
    done = resolved(joined)
    out = pd.DataFrame({"feature_date": done["feature_date"]})
    hits = done["correct"].astype(float)
    ups = (done["actual"] == 1).astype(float)
    out["model"] = hits.rolling(window, min_periods=window).mean()
    out["always_up"] = ups.rolling(window, min_periods=window).mean()
    return out.dropna().reset_index(drop=True)


def latest_forecast(joined: pd.DataFrame) -> pd.Series | None:
    """The prediction with the newest feature date: the forecast for the next trading day."""
    if joined.empty:
        return None
    return joined.iloc[-1]


def format_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"
