"""The statistics drift is judged on, and their null distribution from the reference's past.

Daily features are persistent (two neighbouring days of vol_60 share 59 of 60 returns),
so no textbook null holds for them: an iid test flags a 60-row window of vol_60 almost
always, and an autocorrelation correction or a threshold clipped at the statistic's
largest value makes the same features unflaggable. Here the null is measured instead:
the reference's own past windows of the window's length, each compared with the rows
before it, exactly as the newest window is compared with the reference. A feature's
threshold is a high quantile of that null, capped strictly below the statistic's
maximum, so every feature can be flagged.

Two statistics per feature:
- the two-sample Kolmogorov-Smirnov distance D (0 to 1): a change of shape or place;
- the out-of-range share: the share of the window (or of its newest third, whichever
  is larger: a regime of the last month fills only a third of a 60-row window) outside
  the reference's [0.5 %, 99.5 %] quantile range. Its threshold is capped at one half:
  a window mostly outside the reference is drift whatever the feature's past did.

Dagster-free and vectorised; ``drift`` calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RANGE_QUANTILES = (0.005, 0.995)
# Past windows start this many rows apart: 30 on a 60-row window gives about 200 null
# windows on 25 years of history, at about 0.3 s for the 18 features (bench/monitoring.py).
NULL_STRIDE = 30
# A past window is compared with at least this many rows before it (a year of trading
# days): against a few weeks, every window would look new and the null would mean nothing.
MIN_HISTORY = 250
DEFAULT_QUANTILE = 0.99
# "Mostly outside the reference" is drift whatever the null says.
MAX_OUTSIDE_THRESHOLD = 0.5


def ks_distance(reference_sorted: np.ndarray, window: np.ndarray) -> float:
    """Two-sample KS distance of ``window`` against a sorted reference (as ks_2samp's)."""
    w = np.sort(np.asarray(window, dtype=float))
    m, n = len(w), len(reference_sorted)
    if m == 0 or n == 0:
        return 0.0
    # Both ECDFs are right-continuous steps: the gap is largest at a window value or just
    # before one (ties counted on both sides, as for a discrete feature).
    right = np.searchsorted(reference_sorted, w, side="right") / n
    left = np.searchsorted(reference_sorted, w, side="left") / n
    w_right = np.searchsorted(w, w, side="right") / m
    w_left = np.searchsorted(w, w, side="left") / m
    return float(max(np.max(np.abs(w_right - right)), np.max(np.abs(w_left - left))))


def value_range(reference_sorted: np.ndarray) -> tuple[float, float]:
    """The reference's [0.5 %, 99.5 %] quantiles (its min and max below 200 rows)."""
    n = len(reference_sorted)
    lo = int(np.floor(RANGE_QUANTILES[0] * (n - 1)))
    hi = int(np.ceil(RANGE_QUANTILES[1] * (n - 1)))
    return float(reference_sorted[lo]), float(reference_sorted[hi])


def outside_share(window: np.ndarray, low: float, high: float) -> float:
    """Share of ``window`` (oldest first) outside [low, high]: of the whole window or of
    its newest third, whichever is larger."""
    outside = (window < low) | (window > high)
    if not len(outside):
        return 0.0
    tail = outside[-max(1, len(outside) // 3) :]
    return float(max(outside.mean(), tail.mean()))


@dataclass(frozen=True)
class Null:
    """Each statistic of the reference's own past windows against the rows before them."""

    ks: np.ndarray
    outside: np.ndarray


def null(reference: np.ndarray, window: int, stride: int = NULL_STRIDE) -> Null:
    """The null of one feature: ``reference`` in time order, windows of ``window`` rows."""
    ref = np.asarray(reference, dtype=float)
    ks, outside = [], []
    for start in range(max(MIN_HISTORY, window), len(ref) - window + 1, stride):
        before = np.sort(ref[:start])
        current = ref[start : start + window]
        ks.append(ks_distance(before, current))
        outside.append(outside_share(current, *value_range(before)))
    return Null(np.asarray(ks), np.asarray(outside))


def ks_cap(window: int) -> float:
    """The largest KS threshold: one step below D = 1 (the window entirely beyond one
    end of the reference), so a feature whose past windows reached it stays flaggable."""
    return 1.0 - 1.0 / max(window, 2)


@dataclass(frozen=True)
class Thresholds:
    ks: float
    outside: float
    null_windows: int


def empirical_pvalue(null_values: np.ndarray, value: float) -> float:
    """Share of the null at or above ``value``, the observed one counted (never 0)."""
    return float((1 + np.sum(null_values >= value)) / (1 + len(null_values)))


def thresholds(found: Null, window: int, quantile: float = DEFAULT_QUANTILE) -> Thresholds:
    """The ``quantile`` of each null, capped strictly below its statistic's maximum.

    Without enough history for a null (under MIN_HISTORY + window rows) the caps alone
    apply: only a window mostly outside the reference, or entirely beyond it, is drift.
    """
    if not len(found.ks):
        return Thresholds(ks_cap(window), MAX_OUTSIDE_THRESHOLD, 0)
    return Thresholds(
        ks=min(float(np.quantile(found.ks, quantile)), ks_cap(window)),
        outside=min(float(np.quantile(found.outside, quantile)), MAX_OUTSIDE_THRESHOLD),
        null_windows=len(found.ks),
    )
