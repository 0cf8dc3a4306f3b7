"""The model lifecycle in one place: load a version, check it, score it, compare, apply.

The training assets, the champion check and ``fx promote`` / ``fx rollback`` all go
through these functions, so "can this version be used?" and "what does it score on the
test days?" have one answer. A version knows its registered model (``Version.name``,
one per pair); the functions that look one up take the pair's ``name``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fx_assets.core.domain import FEATURES
from fx_assets.core.models import registry
from fx_assets.core.models.loader import load_estimator
from fx_assets.core.redaction import one_line
from fx_assets.core.training.modeling import pr_auc, probability_up, xy
from fx_assets.core.training.promotion import DEFAULT_POLICY, Decision, decide, lift_interval


@dataclass(frozen=True)
class Scored:
    """One version on a set of rows: its probabilities and PR-AUC, or why it could not."""

    version: registry.Version
    features: tuple[str, ...]
    probabilities: np.ndarray | None = None
    pr_auc: float | None = None
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.pr_auc is not None


def feature_problem(version: registry.Version) -> str | None:
    """Why ``version`` cannot score today's feature rows, or None."""
    where = f"v{version.version}"
    if list(registry.model_features(version.model_uri)) != FEATURES:
        return f"{where}'s signature does not match the current feature list"
    if list(version.features) != FEATURES:
        return f"{where}'s '{registry.TAG_FEATURES}' tag is not the feature list"
    return None


def score(client: Any, version: registry.Version, rows: pd.DataFrame) -> Scored:
    """Load ``version`` (the safe loader) and score it on ``rows``; never raises."""
    features = registry.model_features(version.model_uri)
    if list(features) != FEATURES:
        return Scored(version, features, error="its signature expects other features")
    x, y = xy(rows)
    try:
        p = probability_up(load_estimator(client, version.version, version.name), x)
    except Exception as exc:  # a version that cannot score is reported, not raised
        return Scored(version, features, error=one_line(exc))
    return Scored(version, features, p, pr_auc(y, p) if len(y) else None)


def compare(
    challenger: Scored,
    champion: Scored | None,
    test: pd.DataFrame,
    *,
    margin: float,
    policy: str = DEFAULT_POLICY,
    seed: int = 0,
) -> Decision:
    """The promotion decision for ``challenger`` against ``champion`` on ``test``.

    When both scored, the lift's paired block-bootstrap interval decides under ``policy``.
    """
    if challenger.pr_auc is None:
        raise registry.RegistryError(
            f"challenger v{challenger.version.version} cannot score the test days:"
            f" {challenger.error}"
        )
    _, y = xy(test)
    same = champion is not None and champion.version.version == challenger.version.version
    lift = None
    if (
        champion is not None
        and not same
        and champion.probabilities is not None
        and challenger.probabilities is not None
    ):
        lift = lift_interval(y, challenger.probabilities, champion.probabilities, seed=seed)
    return decide(
        challenger_version=challenger.version.version,
        challenger_pr_auc=challenger.pr_auc,
        champion_version=champion.version.version if champion else None,
        champion_pr_auc=None if champion is None or same else champion.pr_auc,
        champion_features=None if champion is None or same else champion.features,
        features=FEATURES,
        baseline_pr_auc=float(y.mean()),
        margin=margin,
        champion_error=None if champion is None or same else champion.error,
        challenger_lifecycle=challenger.version.lifecycle or "challenger",
        lift=lift,
        policy=policy,
    )


def apply(client: Any, decision: Decision, *, name: str) -> None:
    """Move the aliases and lifecycle tags of model ``name`` as ``decision`` says; the lift's
    interval too. Only ``name``'s versions move: another pair's champion is never touched."""
    if decision.promote:
        registry.promote(client, decision.challenger_version, reason=decision.reason, name=name)
    elif decision.champion_version != decision.challenger_version:
        registry.reject(client, decision.challenger_version, reason=decision.reason, name=name)
    else:
        return
    registry.set_decision_interval(
        client,
        decision.challenger_version,
        policy=decision.policy,
        lift=decision.lift,
        low=decision.lift_ci_low,
        high=decision.lift_ci_high,
        p_value=decision.lift_p_value,
        name=name,
    )


def champion_problem(client: Any, rows: pd.DataFrame, *, name: str) -> tuple[str | None, str]:
    """(what is wrong with model ``name``'s champion, or None; its version) on a few feature
    rows."""
    champion = registry.alias_version(client, registry.CHAMPION, name=name)
    if champion is None:
        return f"{name} has no '{registry.CHAMPION}' alias", ""
    problem = feature_problem(champion)
    if problem:
        return f"{name} champion {problem}", champion.version
    scored = score(client, champion, rows)
    if scored.error:
        return f"{name} champion v{champion.version} does not load or score: {scored.error}", (
            champion.version
        )
    return None, champion.version


def test_scores(
    client: Any, versions: list[registry.Version], test: pd.DataFrame
) -> tuple[dict[str, float], float | None]:
    """PR-AUC of each usable version on ``test``, and the always-up baseline."""
    if test.empty:
        return {}, None
    _, y = xy(test)
    scored = (score(client, v, test) for v in versions)
    scores = {s.version.version: s.pr_auc for s in scored if s.pr_auc is not None}
    return scores, float(y.mean())  # type: ignore[return-value]
