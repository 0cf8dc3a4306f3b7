"""What the monitoring tables say, as findings the WARN checks report and alerts carry.

Dagster-free: each function reads the rows ``drift.feature_drift`` and
``performance.performance`` build and answers "does this warrant a person's attention",
with the numbers that person needs. The checks put ``metadata`` in the UI and the
alert's text is ``summary`` plus those numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from fx_assets.core.models.ranges import describe, from_column
from fx_assets.core.monitoring.drift import drifted_features
from fx_assets.core.monitoring.verdicts import drift_verdict, performance_verdict

# The window a decay is judged on: 60 resolved days is about three months, long enough
# for the binomial test to see a 15-point drop, short enough to see it within a quarter.
DECAY_WINDOW = "60"
# Fewer resolved predictions than this in the window: too few to call anything.
MIN_RESOLVED = 20


@dataclass(frozen=True)
class Finding:
    """One check's answer: ``fired`` asks for attention; ``metadata`` holds the figures."""

    check: str
    fired: bool
    summary: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def alert_text(self) -> str:
        figures = ", ".join(f"{k}={v}" for k, v in self.metadata.items())
        return f"{self.summary}\n{figures}"

    def for_pair(self, pair: str) -> Finding:
        """The same finding said of ``pair`` (``GBPUSD: drifted: ...``): a book's checks and
        alerts read alike, so each names the pair it is about."""
        return replace(
            self, summary=f"{pair}: {self.summary}", metadata={"pair": pair, **self.metadata}
        )


def _r(value: Any, digits: int = 4) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), digits)


def feature_drift(rows: pd.DataFrame) -> Finding:
    """Fired when any feature drifted; names each drifted feature with its PSI."""
    if rows.empty:
        return Finding("feature_drift", False, "no drift rows: nothing to compare yet")
    named = drifted_features(rows)
    first = rows.iloc[0]
    metadata: dict[str, Any] = {
        "drifted": named,
        "features": len(rows),
        "window": f"{first['window_start']} to {first['window_end']}",
        "reference": f"{first['reference_start']} to {first['reference_end']}",
        "model_version": str(first["model_version"]),
        "rules": {str(r["feature"]): r["rule"] for r in rows.to_dict("records") if r["drifted"]},
        "max_ks": _r(rows["ks_stat"].max()),
    }
    return Finding("feature_drift", bool(named), drift_verdict(rows), metadata)


def _window(rows: pd.DataFrame, window: str) -> dict[str, Any] | None:
    hit = rows[rows["window"].astype(str) == window]
    return None if hit.empty else hit.iloc[0].to_dict()


def performance_decay(rows: pd.DataFrame, window: str = DECAY_WINDOW) -> Finding:
    """Fired when the ``window`` row (with at least MIN_RESOLVED outcomes) is degraded."""
    row = _window(rows, window) if not rows.empty else None
    if row is None or int(row["n"]) < MIN_RESOLVED:
        n = 0 if row is None else int(row["n"])
        return Finding(
            "performance_decay", False, f"{n} resolved prediction(s): too few to judge", {"n": n}
        )
    metadata = {
        f"{r['window']}": {
            "n": int(r["n"]),
            "accuracy": _r(r["accuracy"]),
            "always_up": _r(r["baseline_accuracy"]),
            "brier": _r(r["brier"]),
            "constant_brier": _r(r.get("constant_brier")),
            "p_value_worse_than_always_up": _r(r["p_value"]),
            "rule": r.get("rule"),
            "degraded": bool(r["degraded"]),
        }
        for r in rows.to_dict("records")
    }
    verdict = row.get("verdict")
    if _nan_text(verdict):
        verdict = performance_verdict(row)
    return Finding("performance_decay", bool(row["degraded"]), str(verdict), metadata)


def _nan_text(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def prediction_drift(rows: pd.DataFrame, window: str = DECAY_WINDOW) -> Finding:
    """Fired when the share of up calls over ``window`` moved away from training's."""
    row = _window(rows, window) if not rows.empty else None
    if row is None or int(row["n"]) < MIN_RESOLVED:
        return Finding("prediction_drift", False, "too few predictions to judge")
    metadata = {
        "window": window,
        "n": int(row["n"]),
        "up_share": _r(row["up_share"]),
        "train_up_share": _r(row["train_up_share"]),
        "mean_probability_up": _r(row["mean_probability_up"]),
        "train_mean_probability_up": _r(row["train_mean_probability_up"]),
    }
    summary = (
        f"up calls {row['up_share']:.0%} of the last {window} against "
        f"{row['train_up_share']:.0%} in training"
    )
    if bool(row["prediction_drifted"]):
        return Finding("prediction_drift", True, f"predictions drifted: {summary}", metadata)
    return Finding("prediction_drift", False, summary, metadata)


def out_of_range_inputs(predictions: pd.DataFrame) -> Finding:
    """Fired when the newest forecast was made from inputs outside the training ranges."""
    if predictions.empty:
        return Finding("out_of_range_inputs", False, "no forecast yet")
    row = predictions.sort_values("feature_date").iloc[-1]
    day = f"{pd.Timestamp(row['target_date']):%Y-%m-%d}"
    flags = from_column(row.get("out_of_range"))
    if not flags:
        return Finding(
            "out_of_range_inputs", False, f"forecast for {day}: inputs inside the training ranges"
        )
    text = f"forecast for {day} from inputs the model never saw: {describe(flags)}"
    return Finding(
        "out_of_range_inputs", True, f"{text}: treat with caution", {"out_of_range": flags}
    )
