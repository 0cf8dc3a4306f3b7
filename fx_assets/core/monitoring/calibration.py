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

Every feature is judged at once: each feature's values become ranks offset by the
feature's number, so one sorted array holds every feature's reference and one
``searchsorted`` answers all of them (ranks keep the order and the ties, so the ECDFs,
the KS distance and the range test are the same as on the values).

Dagster-free; ``drift`` calls it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RANGE_QUANTILES = (0.005, 0.995)
# Past windows start this many rows apart. A new window passes the largest of N
# exchangeable past windows 1/(N+1) of the time, so many windows keep the rate near the
# quantile's: 10 on a 60-row window gives about 700 on 27 years of history, at about
# 0.5 s for the 18 features (bench/monitoring.py).
NULL_STRIDE = 10
# A past window is compared with at least this many rows before it (a year of trading
# days): against a few weeks, every window would look new and the null would mean nothing.
MIN_HISTORY = 250
# The share of windows like the reference's own past that flag at least one feature.
DEFAULT_RATE = 0.10
# "Mostly outside the reference" is drift whatever the null says.
MAX_OUTSIDE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Keys:
    """Rows x features as ranks offset per feature, and each feature's distinct values."""

    keys: np.ndarray  # int64, (rows, features)
    values: list[np.ndarray]  # feature -> its sorted distinct values (rank -> value)
    offset: int

    @classmethod
    def of(cls, rows: np.ndarray) -> Keys:
        rows = np.asarray(rows, dtype=float)
        offset = len(rows) + 1
        keys = np.empty(rows.shape, dtype=np.int64)
        values = []
        for f in range(rows.shape[1]):
            distinct, ranks = np.unique(rows[:, f], return_inverse=True)
            keys[:, f] = ranks + f * offset
            values.append(distinct)
        return cls(keys, values, offset)

    def value(self, feature: int, key: int) -> float:
        return float(self.values[feature][key - feature * self.offset])


def _range_index(n: int) -> tuple[int, int]:
    """Positions of the [0.5 %, 99.5 %] quantiles in n sorted rows (min and max below 200)."""
    return int(np.floor(RANGE_QUANTILES[0] * (n - 1))), int(np.ceil(RANGE_QUANTILES[1] * (n - 1)))


@dataclass(frozen=True)
class Stats:
    """Per feature: KS distance, out-of-range share, and the range (as keys)."""

    ks: np.ndarray
    outside: np.ndarray
    low: np.ndarray
    high: np.ndarray


def window_stats(before: np.ndarray, n: int, window: np.ndarray) -> Stats:
    """``window`` (rows x features, keys, oldest first) against ``before``: the sorted keys
    of ``n`` earlier rows of every feature (feature f's block is [f n, (f + 1) n))."""
    m, features = window.shape
    # Features x rows, each feature's window sorted: the queries are then in ascending
    # order overall (offsets grow per feature), which keeps the binary searches cache-warm.
    w = np.sort(window.T, axis=1)
    base = (np.arange(features) * n)[:, None]
    # Both ECDFs are right-continuous steps: the gap is largest at a window value or just
    # before one (ties counted on both sides, as for a discrete feature).
    right = (np.searchsorted(before, w, side="right") - base) / n
    left = (np.searchsorted(before, w, side="left") - base) / n
    flat, wbase = w.ravel(), (np.arange(features) * m)[:, None]
    w_right = (np.searchsorted(flat, w, side="right") - wbase) / m
    w_left = (np.searchsorted(flat, w, side="left") - wbase) / m
    ks = np.maximum(np.abs(w_right - right).max(axis=1), np.abs(w_left - left).max(axis=1))
    lo, hi = _range_index(n)
    low, high = before[base[:, 0] + lo], before[base[:, 0] + hi]
    out = (window < low) | (window > high)
    share = np.maximum(out.mean(axis=0), out[-max(1, m // 3) :].mean(axis=0))
    return Stats(ks, share, low, high)


@dataclass(frozen=True)
class Null:
    """Each statistic of the reference's own past windows against the rows before them:
    (windows x features)."""

    ks: np.ndarray
    outside: np.ndarray


def null(keys: np.ndarray, window: int, stride: int = NULL_STRIDE) -> Null:
    """The null of every feature: ``keys`` (rows in time order x features)."""
    features = keys.shape[1]
    first = max(MIN_HISTORY, window)
    starts = range(first, len(keys) - window + 1, stride)
    ks, outside = np.empty((len(starts), features)), np.empty((len(starts), features))
    before, seen = np.sort(keys[:first].ravel()), first
    for i, start in enumerate(starts):
        # The rows before each window, kept sorted by inserting the stride's new rows.
        new = np.sort(keys[seen:start].ravel())
        before, seen = np.insert(before, np.searchsorted(before, new), new), start
        found = window_stats(before, start, keys[start : start + window])
        ks[i], outside[i] = found.ks, found.outside
    return Null(ks, outside)


def ks_cap(window: int) -> float:
    """The largest KS threshold: one step below D = 1 (the window entirely beyond one
    end of the reference), so a feature whose past windows reached it stays flaggable."""
    return 1.0 - 1.0 / max(window, 2)


@dataclass(frozen=True)
class Thresholds:
    """Per feature, and the per-test level the family rate came to."""

    ks: np.ndarray
    outside: np.ndarray
    level: float


def _tail_share(column: np.ndarray) -> np.ndarray:
    """Each value's share of the column at or above it (its empirical p-value)."""
    ordered = np.sort(column)
    return (len(column) - np.searchsorted(ordered, column, side="left")) / len(column)


def thresholds(found: Null, window: int, rate: float = DEFAULT_RATE) -> Thresholds:
    """Thresholds at which ``rate`` of the reference's own past windows flag any feature.

    Family-wise, like Westfall and Young's min-p: each past window's smallest empirical
    p-value over every feature and both rules is its "most alarming" test; the ``rate``
    quantile of those is the per-test level, and each feature's threshold is its null's
    quantile at one minus that level. The features' correlation and their number are
    thus accounted for by the data. Each threshold is capped strictly below its
    statistic's maximum. Without enough history for a null (under MIN_HISTORY + window
    rows) the caps alone apply: only a window mostly outside the reference, or entirely
    beyond it, is drift.
    """
    features = found.ks.shape[1]
    if not len(found.ks):
        return Thresholds(
            np.full(features, ks_cap(window)), np.full(features, MAX_OUTSIDE_THRESHOLD), 0.0
        )
    both = np.hstack([found.ks, found.outside])
    smallest = np.sort(np.column_stack([_tail_share(c) for c in both.T]).min(axis=1))
    # The conformal rank: a new window exchangeable with the N past ones has its smallest
    # p-value among the k smallest of the N + 1 with probability k / (N + 1), so k =
    # floor(rate * (N + 1)) keeps the family rate at or under ``rate`` (an interpolated
    # quantile overshoots it by up to 1 / N). No such k (too few windows): the caps alone.
    k = int(np.floor(rate * (len(smallest) + 1)))
    if k < 1:
        return Thresholds(
            np.full(features, ks_cap(window)), np.full(features, MAX_OUTSIDE_THRESHOLD), 0.0
        )
    level = float(smallest[k - 1])
    # Order statistics, not interpolations: a past value above its threshold is one of the
    # past windows the level counted.
    return Thresholds(
        ks=np.minimum(np.quantile(found.ks, 1 - level, axis=0, method="higher"), ks_cap(window)),
        outside=np.minimum(
            np.quantile(found.outside, 1 - level, axis=0, method="higher"), MAX_OUTSIDE_THRESHOLD
        ),
        level=level,
    )


def empirical_pvalues(null_ks: np.ndarray, ks: np.ndarray) -> np.ndarray:
    """Per feature, the share of the null at or above its KS, the observed one counted."""
    return (1 + np.sum(null_ks >= ks, axis=0)) / (1 + len(null_ks))
