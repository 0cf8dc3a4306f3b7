"""The champion model: resolved from the registry once, then scored without pandas.

Dagster-free: the predictions asset and the model service both load the champion
through ``load_champion`` and score through ``Champion.score``, so one code path turns
feature rows into ``probability_up`` and ``direction`` everywhere.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from fx_assets.core.domain import FEATURES, MODEL_NAME, THRESHOLD
from fx_assets.core.models.fastpath import Probability, agrees, candidates
from fx_assets.core.models.loader import ModelRefusedError, load_estimator
from fx_assets.core.models.ranges import TAG_FEATURE_RANGES, Ranges
from fx_assets.core.models.registry import (
    CHAMPION,
    TAG_BASELINE_PR_AUC,
    TAG_DECISION,
    TAG_DECISION_LIFT,
    TAG_DECISION_LIFT_HIGH,
    TAG_DECISION_LIFT_LOW,
    TAG_DECISION_POLICY,
    TAG_FEATURES,
    TAG_TEST_PR_AUC,
    TAG_TRAINING_CUTOFF,
)

# Registry answers that mean "there is no champion yet", as opposed to an outage.
_NOT_FOUND_CODES = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


class ChampionError(RuntimeError):
    """The champion cannot be loaded or used; the message says why and what to do."""


class NoChampionError(ChampionError):
    """The registry has no ``champion`` alias yet."""


class RefusedChampionError(ChampionError):
    """The champion version failed the safe loader (format, trusted types or hash)."""


def no_champion_message(name: str = MODEL_NAME) -> str:
    return f"no champion model: {name}@{CHAMPION} is not set yet; run training (fx run) first"


@dataclass(frozen=True)
class Champion:
    """One loaded version of the registered model and what a consumer needs to know of it."""

    name: str
    version: str
    run_id: str
    features: tuple[str, ...]
    training_cutoff: date
    test_pr_auc: float | None
    baseline_pr_auc: float | None
    loaded_at: datetime
    estimator: Any = field(repr=False)
    positive_column: int = 1
    # The promotion decision that made it champion: PR-AUC lift over the champion it
    # faced, its paired-bootstrap 95 % interval, and the policy (None: nothing to face).
    decision: str | None = None
    decision_policy: str | None = None
    decision_lift: float | None = None
    decision_lift_ci_low: float | None = None
    decision_lift_ci_high: float | None = None
    fast: Probability | None = field(default=None, repr=False)
    # Its features' training ranges (None: a version registered before they were kept).
    ranges: Ranges | None = field(default=None, repr=False)

    def estimator_probability_up(self, x: np.ndarray) -> np.ndarray:
        """P(up) through the estimator's own ``predict_proba``."""
        with warnings.catch_warnings():
            # Fitted on a DataFrame, scored on its values in the same column order
            # (checked at load): the feature-name check has nothing to add.
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            proba = self.estimator.predict_proba(x)
        return np.asarray(proba[:, self.positive_column], dtype=float)

    def probability_up(self, x: np.ndarray) -> np.ndarray:
        """P(close higher next day) for a 2-D float array whose columns are ``features``."""
        if self.fast is not None:
            return self.fast(x)
        return self.estimator_probability_up(x)

    def score(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``probability_up`` and ``direction`` (1 when probability_up >= THRESHOLD)."""
        p = self.probability_up(x)
        return p, (p >= THRESHOLD).astype(int)


def _float_tag(tags: dict[str, str], key: str) -> float | None:
    try:
        return float(tags[key])
    except (KeyError, ValueError):
        return None


def _features(tags: dict[str, str], where: str) -> tuple[str, ...]:
    raw = tags.get(TAG_FEATURES, "")
    features = tuple(f.strip() for f in raw.split(",") if f.strip())
    if not features:
        raise ChampionError(f"{where} has no '{TAG_FEATURES}' tag; register it through training")
    unknown = [f for f in features if f not in FEATURES]
    if unknown:
        raise ChampionError(
            f"{where} expects feature(s) {', '.join(unknown)} that this code does not compute; "
            "retrain the model or upgrade fx-platform"
        )
    return features


def _cutoff(tags: dict[str, str], where: str) -> date:
    raw = tags.get(TAG_TRAINING_CUTOFF)
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ChampionError(
            f"{where} has no valid '{TAG_TRAINING_CUTOFF}' tag ({raw!r}); "
            "register it through training"
        ) from None


def _positive_column(estimator: Any, where: str) -> int:
    classes = [int(c) for c in getattr(estimator, "classes_", [0, 1])]
    if 1 not in classes:
        raise ChampionError(f"{where} was not trained on a binary up/down target")
    return classes.index(1)


def champion_version(client: Any = None, name: str = MODEL_NAME) -> str | None:
    """The version the ``champion`` alias points at now, or None when it is not set."""
    from mlflow.exceptions import MlflowException

    from fx_assets.core.models import registry

    client = client or registry.client()
    try:
        return str(client.get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException as exc:
        if exc.error_code in _NOT_FOUND_CODES:
            return None
        raise ChampionError(f"model registry unavailable: {exc.message}") from None


def load_champion(client: Any = None, name: str = MODEL_NAME) -> Champion:
    """Resolve ``name@champion`` and load that exact version (a later alias move is not
    mixed), from the store ``client`` reads (never the ``mlflow`` module's global URIs)."""
    from mlflow.exceptions import MlflowException

    from fx_assets.core.models import registry

    client = client or registry.client()
    try:
        mv = client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as exc:
        if exc.error_code in _NOT_FOUND_CODES:
            raise NoChampionError(no_champion_message(name)) from None
        raise ChampionError(f"model registry unavailable: {exc.message}") from None
    where = f"{name} version {mv.version}"
    tags = dict(mv.tags or {})
    features = _features(tags, where)
    cutoff = _cutoff(tags, where)
    try:
        estimator = load_estimator(client, str(mv.version), name)
    except ModelRefusedError as exc:
        raise RefusedChampionError(str(exc)) from None
    except MlflowException as exc:
        raise ChampionError(f"cannot load {where}: {exc.message}") from None
    if not hasattr(estimator, "predict_proba"):
        raise ChampionError(f"{where} has no predict_proba; log a probabilistic classifier")
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None and tuple(fitted) != features:
        raise ChampionError(
            f"{where}: '{TAG_FEATURES}' tag disagrees with the columns it was fitted on"
        )
    champion = Champion(
        name=name,
        version=str(mv.version),
        run_id=str(mv.run_id or ""),
        features=features,
        training_cutoff=cutoff,
        test_pr_auc=_float_tag(tags, TAG_TEST_PR_AUC),
        baseline_pr_auc=_float_tag(tags, TAG_BASELINE_PR_AUC),
        loaded_at=datetime.now(UTC),
        estimator=estimator,
        positive_column=_positive_column(estimator, where),
        decision=tags.get(TAG_DECISION),
        decision_policy=tags.get(TAG_DECISION_POLICY),
        decision_lift=_float_tag(tags, TAG_DECISION_LIFT),
        decision_lift_ci_low=_float_tag(tags, TAG_DECISION_LIFT_LOW),
        decision_lift_ci_high=_float_tag(tags, TAG_DECISION_LIFT_HIGH),
        ranges=Ranges.from_tag(tags.get(TAG_FEATURE_RANGES), features),
    )
    for fast in candidates(estimator, champion.positive_column):
        if agrees(fast, champion.estimator_probability_up, len(features)):
            return replace(champion, fast=fast)
    return champion
