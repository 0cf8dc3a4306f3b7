"""MLflow tracking and registry conventions shared by training, inference, service and UI.

Dagster-free. The registered model ``eur_usd_direction`` carries two aliases,
``champion`` and ``challenger``; every version carries a ``lifecycle`` tag
(challenger, champion, archived or rejected) and the tags below that tell a
consumer which features the model expects and where its training data ended.

The champion moves only through ``promote`` and ``rollback`` here (called by the
``champion_model`` asset and by ``fx promote`` / ``fx rollback``), and every move is
recorded as an MLflow run by ``fx_assets.core.training.tracking.log_decision``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fx_assets.core.domain import EXPERIMENT_NAME, MODEL_NAME
from fx_assets.core.models.store import ensure_tracking_store

CHAMPION = "champion"
CHALLENGER = "challenger"

# Version (and run) tags.
TAG_LIFECYCLE = "lifecycle"
TAG_FEATURES = "features"  # comma-separated feature list, in model input order
TAG_TRAINING_CUTOFF = "training_cutoff"  # ISO date of the last training row
TAG_TEST_PR_AUC = "test_pr_auc"
TAG_BASELINE_PR_AUC = "baseline_pr_auc"
TAG_PROMOTED_AT = "promoted_at"
TAG_ARCHIVED_AT = "archived_at"
TAG_FAMILY = "family"  # logistic_regression, random_forest or xgboost
TAG_CV_PR_AUC = "cv_pr_auc"
TAG_DECISION = "decision"  # why the version holds its lifecycle state
# The promotion's PR-AUC lift over the champion it faced, with its paired-bootstrap 95 %
# interval and p-value, and the policy that decided (absent: no champion to face).
TAG_DECISION_POLICY = "decision_policy"
TAG_DECISION_LIFT = "decision_lift"
TAG_DECISION_LIFT_LOW = "decision_lift_ci_low"
TAG_DECISION_LIFT_HIGH = "decision_lift_ci_high"
TAG_DECISION_LIFT_P = "decision_lift_p_value"

# Run tags: what a run in the experiment is, and which Dagster run made it.
TAG_RUN_KIND = "fx.kind"  # training (parent), candidate, challenger, decision
# The pair a run (or version) is of: one experiment holds the whole book's runs.
TAG_PAIR = "pair"
TAG_DAGSTER_RUN_ID = "dagster_run_id"  # the tag dagster-mlflow uses, so both agree


def tracking_uri() -> str:
    from fx_assets.core.settings import load_settings

    return load_settings().mlflow_tracking_uri


def configure_mlflow(uri: str | None = None) -> str:
    """Point the ``mlflow`` module at our store; create the experiment with our artifact root."""
    import mlflow

    from fx_assets.core.settings import load_settings, sqlite_path

    settings = load_settings()
    uri = uri or settings.mlflow_tracking_uri
    path = sqlite_path(uri)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    # Created and migrated once, under a lock, before MLflow itself touches the store:
    # two processes doing it at once can break a new SQLite store for good.
    ensure_tracking_store(uri, settings.mlflow_artifact_root, lock_dir=settings.home)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    if client.get_experiment_by_name(EXPERIMENT_NAME) is None:
        # A local store keeps artifacts under FX_HOME; a tracking server decides for itself.
        local = uri.startswith(("sqlite:", "file:", "/")) or "://" not in uri
        try:
            client.create_experiment(
                EXPERIMENT_NAME,
                artifact_location=settings.mlflow_artifact_root if local else None,
            )
        except mlflow.exceptions.MlflowException as exc:
            # The book's first runs start together: another one made it first.
            if getattr(exc, "error_code", None) != "RESOURCE_ALREADY_EXISTS":
                raise
    mlflow.set_experiment(EXPERIMENT_NAME)
    os.environ.setdefault("MLFLOW_TRACKING_URI", uri)
    return uri


def client(uri: str | None = None):  # type: ignore[no-untyped-def]
    """An ``MlflowClient`` on the configured tracking and registry store."""
    import mlflow

    uri = configure_mlflow(uri)
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


# Registry answers that mean "not there": no registered model yet, or no such alias.
_MISSING_CODES = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


class RegistryError(RuntimeError):
    """A registry request that cannot be met; the message says why and what to do."""


@dataclass(frozen=True)
class Version:
    """One registered version of a pair's model (``eur_usd_direction``) as the lifecycle
    sees it."""

    version: str
    aliases: tuple[str, ...]
    tags: Mapping[str, str]
    run_id: str | None
    created_at: datetime | None
    name: str = MODEL_NAME

    @property
    def model_uri(self) -> str:
        return f"models:/{self.name}/{self.version}"

    @property
    def lifecycle(self) -> str | None:
        return self.tags.get(TAG_LIFECYCLE)

    @property
    def features(self) -> tuple[str, ...]:
        return tuple(f for f in self.tags.get(TAG_FEATURES, "").split(",") if f)

    def number(self, tag: str) -> float | None:
        try:
            return float(self.tags[tag])
        except (KeyError, ValueError):
            return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _missing(exc: Exception) -> bool:
    return getattr(exc, "error_code", None) in _MISSING_CODES


def _aliases(client: Any, name: str) -> dict[str, tuple[str, ...]]:
    """Version -> aliases pointing at it."""
    from mlflow.exceptions import MlflowException

    try:
        model = client.get_registered_model(name)
    except MlflowException as exc:
        if _missing(exc):
            return {}
        raise
    by_version: dict[str, tuple[str, ...]] = {}
    for alias, version in sorted((model.aliases or {}).items()):
        by_version[str(version)] = (*by_version.get(str(version), ()), alias)
    return by_version


def _as_version(mv: Any, aliases: Mapping[str, tuple[str, ...]]) -> Version:
    created = (
        datetime.fromtimestamp(mv.creation_timestamp / 1000, UTC) if mv.creation_timestamp else None
    )
    return Version(
        version=str(mv.version),
        aliases=aliases.get(str(mv.version), ()),
        tags=dict(mv.tags or {}),
        run_id=mv.run_id or None,
        created_at=created,
        name=str(mv.name),
    )


def list_versions(client: Any, *, name: str = MODEL_NAME) -> list[Version]:
    """Every version, newest first; empty when nothing is registered yet."""
    aliases = _aliases(client, name)
    found = client.search_model_versions(f"name='{name}'")
    versions = [_as_version(mv, aliases) for mv in found]
    return sorted(versions, key=lambda v: int(v.version), reverse=True)


def get_version(client: Any, version: str, *, name: str = MODEL_NAME) -> Version:
    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version(name, str(version))
    except MlflowException as exc:
        if _missing(exc):
            raise RegistryError(
                f"{name} has no version {version!r}; `fx models` lists the versions"
            ) from None
        raise
    return _as_version(mv, _aliases(client, name))


def alias_version(client: Any, alias: str, *, name: str = MODEL_NAME) -> Version | None:
    """The version ``alias`` points at, or None when the alias (or the model) does not exist."""
    from mlflow.exceptions import MlflowException

    try:
        mv = client.get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if _missing(exc):
            return None
        raise
    return _as_version(mv, _aliases(client, name))


def champion_info(mlflow_client: Any | None = None, *, name: str = MODEL_NAME) -> Version | None:
    """The current champion (its tags say features, training cutoff, test PR-AUC), or None."""
    return alias_version(mlflow_client or client(), CHAMPION, name=name)


def model_features(model_uri: str) -> tuple[str, ...]:
    """The input columns of a logged model's signature, in order; empty without a signature."""
    from mlflow.models import get_model_info

    signature = get_model_info(model_uri).signature
    if signature is None or signature.inputs is None:
        return ()
    return tuple(signature.inputs.input_names())


def _crown(client: Any, version: str, reason: str, name: str) -> None:
    client.set_registered_model_alias(name, CHAMPION, version)
    for key, value in {
        TAG_LIFECYCLE: CHAMPION,
        TAG_PROMOTED_AT: _now(),
        TAG_DECISION: reason,
    }.items():
        client.set_model_version_tag(name, version, key, value)


def promote(client: Any, version: str, *, reason: str, name: str = MODEL_NAME) -> Version | None:
    """Make ``version`` the champion and archive the one it replaces; the replaced one."""
    target = get_version(client, version, name=name)
    previous = alias_version(client, CHAMPION, name=name)
    if previous is not None and previous.version == target.version:
        raise RegistryError(f"version {version} is already the champion of {name}")
    _crown(client, target.version, reason, name)
    if previous is not None:
        client.set_model_version_tag(name, previous.version, TAG_LIFECYCLE, "archived")
        client.set_model_version_tag(name, previous.version, TAG_ARCHIVED_AT, _now())
    return previous


def reject(client: Any, version: str, *, reason: str, name: str = MODEL_NAME) -> None:
    """Tag a challenger that lost (it keeps the ``challenger`` alias until the next one)."""
    client.set_model_version_tag(name, str(version), TAG_LIFECYCLE, "rejected")
    client.set_model_version_tag(name, str(version), TAG_DECISION, reason)


def set_decision_interval(
    client: Any,
    version: str,
    *,
    policy: str,
    lift: float,
    low: float,
    high: float,
    p_value: float,
    name: str = MODEL_NAME,
) -> None:
    """Record the decision's lift interval on ``version`` (NaN: there was nothing to face)."""
    client.set_model_version_tag(name, str(version), TAG_DECISION_POLICY, policy)
    for tag, value in (
        (TAG_DECISION_LIFT, lift),
        (TAG_DECISION_LIFT_LOW, low),
        (TAG_DECISION_LIFT_HIGH, high),
        (TAG_DECISION_LIFT_P, p_value),
    ):
        if not math.isnan(value):
            client.set_model_version_tag(name, str(version), tag, f"{value:.6f}")


def last_archived(client: Any, *, name: str = MODEL_NAME) -> Version | None:
    """The most recently archived champion: where a rollback goes."""
    archived = [v for v in list_versions(client, name=name) if v.lifecycle == "archived"]
    if not archived:
        return None
    return max(archived, key=lambda v: (v.tags.get(TAG_ARCHIVED_AT, ""), int(v.version)))


def rollback(client: Any, *, reason: str, name: str = MODEL_NAME) -> tuple[Version, Version]:
    """Champion back to the last archived champion; the demoted one is tagged ``rejected``.

    Rejected, not archived: a second rollback goes one champion further back instead of
    swapping the same two versions. Returns (demoted, restored).
    """
    current = alias_version(client, CHAMPION, name=name)
    if current is None:
        raise RegistryError(f"{name} has no champion to roll back; `fx models` lists the versions")
    target = last_archived(client, name=name)
    if target is None:
        raise RegistryError(
            f"nothing to roll back to: no archived champion before version {current.version};"
            " `fx promote VERSION` makes any version the champion"
        )
    _crown(client, target.version, reason, name)
    reject(client, current.version, reason=reason, name=name)
    return current, target
