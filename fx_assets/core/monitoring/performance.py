"""Realized performance of the stored predictions, and drift of the predictions themselves.

Outcomes are not stored on predictions: a prediction made on feature date t is resolved
by ``fx_final``'s ``target`` of date t (1 when the next trading day closed higher),
known once the next close is in. The join and a window's accuracy are the read model's
(``fx_assets.core.readmodel``), the same ones every consumer shows. Dagster-free; the
``fx_performance`` asset and its checks call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from fx_assets.core.contracts import PERFORMANCE
from fx_assets.core.domain import THRESHOLD
from fx_assets.core.monitoring.verdicts import ALPHA, decay_rule, performance_verdict
from fx_assets.core.readmodel.accuracy import realized_accuracy

WINDOWS: tuple[int | None, ...] = (20, 60, 250, None)  # None: every resolved prediction
# The share of up calls may move this much from the training period's before it is
# called prediction drift. Not a test: predictions inherit the features' persistence
# (a model that follows a 60-day trend says "up" for weeks), so a binomial test on the
# window's calls would fire on ordinary trends, as the iid KS did on the features.
DEFAULT_SHARE_SHIFT = 0.25

# One pair's rows, as the contract declares them: the warehouse fills in the pair.
PERFORMANCE_COLUMNS = PERFORMANCE.seed_columns


def window_label(window: int | None) -> str:
    return "all" if window is None else str(window)


def hits_p_value(hits: int, n: int, baseline_rate: float) -> float:
    """One-sided exact binomial p-value: P(X <= hits) for X ~ Binomial(n, baseline_rate).

    Why this test: on a window each resolved day is one Bernoulli trial, a hit or a
    miss, and the natural null is a model no better than "always up" on those very days,
    whose hit rate is the share of up days. The exact test is right for the 20-day window,
    where a normal approximation is poor, and one-sided because the question is "worse
    than the baseline". The baseline rate is taken as known (it is the same days'
    outcome share), so the test is conditional on the days the window holds.
    """
    if n == 0:
        return 1.0
    return float(stats.binomtest(hits, n, baseline_rate, alternative="less").pvalue)


@dataclass(frozen=True)
class Reference:
    """What the champion's training period looked like: up share of outcomes and of the
    model's own calls there, and its mean P(up)."""

    outcome_up_share: float
    up_share: float
    mean_probability_up: float


def reference_of(training_probability_up: np.ndarray, training_target: np.ndarray) -> Reference:
    p = np.asarray(training_probability_up, dtype=float)
    return Reference(
        outcome_up_share=float(np.mean(training_target)),
        up_share=float(np.mean(p >= THRESHOLD)),
        mean_probability_up=float(np.mean(p)),
    )


def window_row(
    resolved: pd.DataFrame,
    window: int | None,
    reference: Reference | None = None,
    alpha: float = ALPHA,
    share_shift: float = DEFAULT_SHARE_SHIFT,
) -> dict[str, object]:
    """One ``fx_performance`` row for the newest ``window`` resolved predictions.

    ``degraded``: hits significantly fewer than always-up's at ``alpha`` (rule
    ``binomial``, which decides first), or a Brier score above the constant forecast's
    (rule ``brier``); ``verdict`` says which, with its numbers. The constant forecast
    says P(up) = the training period's share of up days (a forecast that could have
    been made in advance; the window's own share would be hindsight); without a
    reference, the window's own share.
    """
    rows = resolved if window is None else resolved.tail(window)
    # The one definition of a window's accuracy, as every consumer reads it.
    realized = realized_accuracy(resolved, window)
    n, hits = realized.n, realized.hits
    y = rows["actual"].to_numpy(int)
    p = rows["probability_up"].to_numpy(float)
    base_rate = realized.baseline_accuracy if n else float("nan")
    brier = float(np.mean((p - y) ** 2)) if n else float("nan")
    constant = reference.outcome_up_share if reference else base_rate
    constant_brier = float(np.mean((constant - y) ** 2)) if n else float("nan")
    p_value = hits_p_value(hits, n, base_rate) if n else float("nan")
    up_share = float(np.mean(rows["direction"])) if n else float("nan")
    mean_p = float(np.mean(p)) if n else float("nan")
    shifted = reference is not None and n > 0 and abs(up_share - reference.up_share) > share_shift
    rule = decay_rule(p_value, brier, constant_brier, alpha) if n else "none"
    row: dict[str, object] = {
        "window": window_label(window),
        "window_end": pd.Timestamp(rows["feature_date"].max()).date() if n else None,
        "n": n,
        "accuracy": realized.accuracy if n else float("nan"),
        "baseline_accuracy": base_rate,
        "brier": brier,
        "p_value": p_value,
        "constant_brier": constant_brier,
        "degraded": rule != "none",
        "rule": rule,
        "up_share": up_share,
        "train_up_share": reference.up_share if reference else float("nan"),
        "mean_probability_up": mean_p,
        "train_mean_probability_up": reference.mean_probability_up if reference else float("nan"),
        "prediction_drifted": bool(shifted),
    }
    row["verdict"] = performance_verdict(row, alpha)
    return row


def performance(
    resolved: pd.DataFrame,
    reference: Reference | None = None,
    windows: Sequence[int | None] = WINDOWS,
    alpha: float = ALPHA,
    share_shift: float = DEFAULT_SHARE_SHIFT,
) -> pd.DataFrame:
    """The ``fx_performance`` rows, one per window; none before any outcome is known.

    A window longer than the resolved history is still reported, over what there is
    (``n`` says how many), so the 250-day row exists from the first resolved day.
    """
    if resolved.empty:
        return pd.DataFrame(columns=PERFORMANCE_COLUMNS)
    rows = [window_row(resolved, w, reference, alpha, share_shift) for w in windows]
    return pd.DataFrame(rows, columns=PERFORMANCE_COLUMNS)


def decayed(rows: pd.DataFrame, window: str = "60") -> dict[str, object] | None:
    """The row of ``window`` when it says degraded (what performance_decay reports)."""
    hit = rows[(rows["window"] == window) & rows["degraded"].astype(bool)]
    return None if hit.empty else hit.iloc[0].to_dict()
