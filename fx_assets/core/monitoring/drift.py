"""Feature drift: the newest feature rows against the rows the champion was trained on.

Method (``calibration`` holds the statistics and the null). Per feature, two rules,
each with a threshold measured on the training rows' own past windows (each against
the rows before it), set family-wise so that ``rate`` (FX_DRIFT_ALARM_RATE, 10 %) of
those windows flag any feature, and capped strictly below its statistic's maximum:
- ``range``: the share of the window (or its newest third) outside the training range
  [0.5 %, 99.5 %] passes its threshold, at most 50 %: a window mostly outside what the
  model saw is drift, whatever the feature's autocorrelation;
- ``ks``: the Kolmogorov-Smirnov distance passes its threshold, at most 1 - 1/window.
``ks_pvalue`` is the empirical one (the share of past windows as far from their past);
``rule`` says which rule decided (``range`` first, ``none`` when neither fired) and
``reason`` says it in words.

False-alarm rate and power, measured (``bench/monitoring.py``; docs/monitoring.md):
on the ECB EUR/USD history every month-end since 2005 as the newest window against all
rows before it flags a feature in 26 of 262 months (9.9 %, the stated rate 10 %), in
real regimes (the low volatility of 2006-07, 2014 and 2019, the 2008-09 crisis); the
newest window of the unchanged history flags none. Planted on the real closes:
volatility x5 is flagged on vol_5 and vol_20 from the first month and on all three
volatility features from the third; a frozen feed on ret_1d and vol_5 from the first
month and on every volatility feature from the second; volatility x3 (the 2008-10
level, inside the training history) and a +5 % level shift (one day's return to the
features) are not. The simulated-data tests hold the rate on AR(1) features.

Dagster-free; the ``fx_drift`` asset calls it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from fx_assets.core.contracts import DRIFT
from fx_assets.core.monitoring import calibration, verdicts

DEFAULT_WINDOW = 60
DEFAULT_RATE = calibration.DEFAULT_RATE
DECILES = 10
# An empty bin would make PSI infinite; this floor is the usual practice.
_PSI_FLOOR = 1e-4

# One pair's rows: every column but the pair, which the warehouse fills in on writing.
DRIFT_COLUMNS = DRIFT.seed_columns


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of ``current`` on the deciles of ``reference``: shown
    beside the rules as the familiar figure, not a rule (its null is the KS rule's job)."""
    reference = np.asarray(reference, dtype=float)
    current = np.asarray(current, dtype=float)
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, DECILES + 1)[1:-1]))

    def shares(values: np.ndarray) -> np.ndarray:
        counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
        return np.maximum(counts / max(len(values), 1), _PSI_FLOOR)

    r, c = shares(reference), shares(current)
    return float(np.sum((c - r) * np.log(c / r)))


def judge_all(
    reference: np.ndarray, window: np.ndarray, rate: float = DEFAULT_RATE
) -> list[dict[str, object]]:
    """Each feature's statistics, thresholds, verdict and rule: ``reference`` and ``window``
    are rows (oldest first) x features, without missing values."""
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(window, dtype=float)
    keys = calibration.Keys.of(np.vstack([ref, cur]))
    n = len(ref)
    found = calibration.null(keys.keys[:n], len(cur))
    limits = calibration.thresholds(found, len(cur), rate)
    now = calibration.window_stats(np.sort(keys.keys[:n].ravel()), n, keys.keys[n:])
    pvalues = calibration.empirical_pvalues(found.ks, now.ks)
    rows = []
    for f in range(ref.shape[1]):
        outside = bool(now.outside[f] > limits.outside[f])
        rule = "range" if outside else "ks" if now.ks[f] > limits.ks[f] else "none"
        rows.append(
            {
                "psi": psi(ref[:, f], cur[:, f]),
                "ks_stat": float(now.ks[f]),
                "ks_pvalue": float(pvalues[f]),
                "ks_threshold": float(limits.ks[f]),
                "outside_share": float(now.outside[f]),
                "outside_threshold": float(limits.outside[f]),
                "range_low": keys.value(f, int(now.low[f])),
                "range_high": keys.value(f, int(now.high[f])),
                "drifted": rule != "none",
                "rule": rule,
            }
        )
    return rows


def judge(
    reference: np.ndarray, window: np.ndarray, rate: float = DEFAULT_RATE
) -> dict[str, object]:
    """One feature's verdict (``judge_all`` on one column)."""
    column = np.asarray(reference, dtype=float).reshape(-1, 1)
    return judge_all(column, np.asarray(window, dtype=float).reshape(-1, 1), rate)[0]


def _day(value: object) -> date:
    return pd.Timestamp(value).date()


def compare(
    reference: pd.DataFrame,
    window: pd.DataFrame,
    features: Sequence[str],
    model_version: str,
    rate: float = DEFAULT_RATE,
) -> pd.DataFrame:
    """One ``fx_drift`` row per feature: ``window`` rows against ``reference`` rows.

    Both frames carry ``date`` and the feature columns; rows with a missing value of a
    feature are left out of that feature's comparison.
    """
    if reference.empty or window.empty:
        return pd.DataFrame(columns=DRIFT_COLUMNS)
    span = {
        "reference_start": _day(reference["date"].min()),
        "reference_end": _day(reference["date"].max()),
        "window_start": _day(window["date"].min()),
        "window_end": _day(window["date"].max()),
    }
    # fx_final has no missing feature (its contract); other callers' incomplete rows are
    # left out, so every feature is judged on the same rows.
    reference = reference.sort_values("date").dropna(subset=list(features))
    window = window.sort_values("date").dropna(subset=list(features))
    judged = judge_all(reference[list(features)], window[list(features)], rate)
    rows = []
    for feature, found in zip(features, judged, strict=True):
        row = {"feature": feature, **span, **found, "model_version": str(model_version)}
        row["reason"] = verdicts.feature_reason(row)
        rows.append(row)
    return pd.DataFrame(rows, columns=DRIFT_COLUMNS)


def feature_drift(
    final: pd.DataFrame,
    features: Sequence[str],
    training_cutoff: date,
    model_version: str,
    window: int = DEFAULT_WINDOW,
    training_start: date | None = None,
    rate: float = DEFAULT_RATE,
) -> pd.DataFrame:
    """The ``fx_drift`` rows: the newest ``window`` rows of ``final`` against the
    champion's training rows (``training_start`` to ``training_cutoff`` inclusive)."""
    rows = final.sort_values("date")
    dates = pd.to_datetime(rows["date"])
    in_training = dates <= pd.Timestamp(training_cutoff)
    if training_start is not None:
        in_training &= dates >= pd.Timestamp(training_start)
    return compare(rows[in_training], rows.tail(window), features, model_version, rate)


def drifted_features(drift: pd.DataFrame) -> dict[str, float]:
    """Drifted feature -> its KS distance, largest first (what the check and alert name)."""
    hit = drift[drift["drifted"].astype(bool)].sort_values("ks_stat", ascending=False)
    return {str(f): round(float(d), 4) for f, d in zip(hit["feature"], hit["ks_stat"], strict=True)}
