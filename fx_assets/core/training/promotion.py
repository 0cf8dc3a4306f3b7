"""The promotion decision: does the challenger replace the champion?

A pure function of the two models' PR-AUC on the same current test set. The challenger
wins only when it beats the champion by more than ``margin``: equal is not better. With
no champion, or a champion that can no longer be used (its signature expects other
features than the pipeline now produces, or it does not load), the challenger is
promoted and the reason says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

DEFAULT_MARGIN = 0.0
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

    @property
    def outcome(self) -> str:
        return "promoted" if self.promote else "kept champion"

    def as_dict(self) -> dict[str, object]:
        return {"outcome": self.outcome, **asdict(self)}


def _fmt(x: float) -> str:
    return f"{x:.4f}"


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
) -> Decision:
    """Promote or keep, with the reason in one sentence.

    ``champion_pr_auc`` is None when the champion could not be scored; then
    ``champion_error`` or a feature mismatch says why, and the challenger replaces it.
    A challenger whose ``challenger_lifecycle`` is already decided (rejected by an earlier
    promotion or a rollback, or archived) is never promoted again here: only an explicit
    ``fx promote`` can bring it back.
    """

    def decision(promote: bool, reason: str) -> Decision:
        return Decision(
            promote=promote,
            reason=reason,
            challenger_version=challenger_version,
            challenger_pr_auc=challenger_pr_auc,
            champion_version=champion_version,
            champion_pr_auc=champion_pr_auc,
            baseline_pr_auc=baseline_pr_auc,
            margin=margin,
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
    lift = challenger_pr_auc - champion_pr_auc
    versus = (
        f"{challenger} vs {champion} ({_fmt(champion_pr_auc)}): lift {lift:+.4f},"
        f" margin {_fmt(margin)}"
    )
    if lift - margin > _TOLERANCE:
        return decision(True, f"{versus}: promoted")
    return decision(False, f"{versus}: not better by more than the margin, champion kept")
