"""The promotion decision: does the challenger replace the champion?

A pure function of the two models' PR-AUC on the same current test set and of the
lift's paired block-bootstrap interval (``lift_interval``: both models scored on the
same resampled days). Two policies:

- ``margin``: the challenger wins when its lift over the champion exceeds ``margin``
  (equal is not better).
- ``significant`` (the default): the lower end of the lift's 95 % interval must exceed
  ``margin`` too. On 500 test days of a near coin toss, PR-AUC lifts of a few hundredths
  are routine noise; promoting on them swaps champions (and alerts a person) every other
  week for nothing, and a real improvement still gets through.

Either way the reason states the lift with its interval. With no champion, or a
champion that can no longer be used (its signature expects other features than the
pipeline now produces, or it does not load), the challenger is promoted and the reason
says why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from fx_assets.core.evaluation import stats

DEFAULT_MARGIN = 0.0
POLICIES = ("margin", "significant")
DEFAULT_POLICY = "significant"
# Lifts this close to the margin are float noise (0.56 - 0.55 is 0.010000000000000009).
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    challenger_version: str
    challenger_pr_auc: float
    champion_version: str | None
    champion_pr_auc: float | None
    baseline_pr_auc: float
    margin: float
    policy: str = DEFAULT_POLICY
    lift: float = math.nan
    lift_ci_low: float = math.nan
    lift_ci_high: float = math.nan
    lift_p_value: float = math.nan

    @property
    def outcome(self) -> str:
        return "promoted" if self.promote else "kept champion"

    def as_dict(self) -> dict[str, object]:
        return {"outcome": self.outcome, **asdict(self)}


def _fmt(x: float) -> str:
    return f"{x:.4f}"


def lift_interval(
    y: np.ndarray,
    p_challenger: np.ndarray,
    p_champion: np.ndarray,
    *,
    seed: int = 0,
    resamples: int = stats.DEFAULT_RESAMPLES,
    block: int = stats.DEFAULT_BLOCK,
) -> stats.Interval:
    """The challenger's PR-AUC lift over the champion on the same days: 95 % CI and p-value."""
    return stats.pr_auc_lift(
        y, p_challenger, p_champion, block=block, resamples=resamples, seed=seed
    )


def describe_lift(lift: float, interval: stats.Interval | None) -> str:
    """'lift +0.0040 (95 % CI -0.0210..+0.0300, p = 0.71)'."""
    if interval is None or math.isnan(interval.low):
        return f"lift {lift:+.4f} (no interval)"
    return (
        f"lift {lift:+.4f} (95 % CI {interval.low:+.4f}..{interval.high:+.4f},"
        f" p = {interval.p_value:.2f})"
    )


def decide(
    *,
    challenger_version: str,
    challenger_pr_auc: float,
    champion_version: str | None,
    champion_pr_auc: float | None,
    champion_features: Sequence[str] | None,
    features: Sequence[str],
    baseline_pr_auc: float,
    margin: float = DEFAULT_MARGIN,
    champion_error: str | None = None,
    challenger_lifecycle: str = "challenger",
    lift: stats.Interval | None = None,
    policy: str = DEFAULT_POLICY,
) -> Decision:
    """Promote or keep, with the reason in one sentence.

    ``lift`` is ``lift_interval`` of the two models on the test days; without it the
    ``significant`` policy cannot be met and the champion is kept.

    ``champion_pr_auc`` is None when the champion could not be scored; then
    ``champion_error`` or a feature mismatch says why, and the challenger replaces it.
    A challenger whose ``challenger_lifecycle`` is already decided (rejected by an earlier
    promotion or a rollback, or archived) is never promoted again here: only an explicit
    ``fx promote`` can bring it back.
    """

    if policy not in POLICIES:
        raise ValueError(f"unknown promotion policy {policy!r}; use one of {', '.join(POLICIES)}")

    def decision(promote: bool, reason: str) -> Decision:
        interval = lift or stats.Interval(math.nan, math.nan, math.nan)
        return Decision(
            promote=promote,
            reason=reason,
            challenger_version=challenger_version,
            challenger_pr_auc=challenger_pr_auc,
            champion_version=champion_version,
            champion_pr_auc=champion_pr_auc,
            baseline_pr_auc=baseline_pr_auc,
            margin=margin,
            policy=policy,
            lift=interval.value,
            lift_ci_low=interval.low,
            lift_ci_high=interval.high,
            lift_p_value=interval.p_value,
        )

    challenger = f"challenger v{challenger_version} (PR-AUC {_fmt(challenger_pr_auc)})"
    if champion_version is None:
        return decision(True, f"no champion yet: {challenger} promoted")
    champion = f"champion v{champion_version}"
    if champion_version == challenger_version:
        return decision(False, f"{challenger} is already the champion")
    if challenger_lifecycle != "challenger":
        return decision(
            False,
            f"{challenger} was already decided (lifecycle {challenger_lifecycle});"
            f" {champion} kept: train a new challenger or use fx promote",
        )
    if champion_features is not None and list(champion_features) != list(features):
        missing = [f for f in features if f not in champion_features]
        extra = [f for f in champion_features if f not in features]
        detail = "; ".join(
            part
            for part in (
                f"lacks {', '.join(missing)}" if missing else "",
                f"expects {', '.join(extra)}" if extra else "",
            )
            if part
        )
        return decision(
            True,
            f"{champion}'s signature no longer matches the feature list"
            f" ({detail or 'different order'}): replaced by {challenger}",
        )
    if champion_pr_auc is None:
        why = champion_error or "it could not be scored"
        return decision(True, f"{champion} is unusable ({why}): replaced by {challenger}")
    point = challenger_pr_auc - champion_pr_auc
    versus = (
        f"{challenger} vs {champion} ({_fmt(champion_pr_auc)}): {describe_lift(point, lift)},"
        f" margin {_fmt(margin)}, policy {policy}"
    )
    if point - margin <= _TOLERANCE:
        return decision(False, f"{versus}: not better by more than the margin, champion kept")
    if policy == "margin":
        return decision(True, f"{versus}: promoted")
    if lift is not None and lift.low - margin > _TOLERANCE:
        return decision(True, f"{versus}: significant, promoted")
    return decision(False, f"{versus}: not significant, champion kept")
