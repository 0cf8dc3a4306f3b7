"""The model panel's data: the champion and recent versions, read from the MLflow registry.

Only reads (registered model, aliases, version tags), through the registry helpers that
take a client. ``registry.client()`` is not used: it creates the experiment, and opening
the page must not change the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fx_assets.core.domain import MODEL_NAME
from fx_assets.core.models.registry import CHALLENGER, CHAMPION, Version, list_versions
from fx_assets.core.models.store import ensure_tracking_store
from fx_assets.core.redaction import one_line, redact_url
from fx_assets.core.settings import sqlite_path

RECENT_VERSIONS = 8
# An unreachable tracking server must not hold the panel for MLflow's default minutes of
# retries; the panel says so and the next refresh tries again. The dashboard process sets
# these (unless the environment does) because MLflow reads them per request.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}


@dataclass(frozen=True)
class ModelPanel:
    name: str = MODEL_NAME
    champion: Version | None = None
    challenger: Version | None = None
    versions: list[Version] = field(default_factory=list)
    message: str | None = None
    problem: bool = False


def _client(uri: str) -> Any:
    import mlflow

    # The page may be the first process to open a new store (fx up starts it beside the
    # others): create and migrate it under the store's lock rather than race them.
    ensure_tracking_store(uri)
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def load_model_panel(uri: str) -> ModelPanel:
    """The champion and the newest versions with their lifecycle tags; never raises."""
    path = sqlite_path(uri)
    if path is not None and not path.exists():
        return ModelPanel(
            message="No model registry yet: training registers the first model (`fx run`)."
        )
    try:
        versions = list_versions(_client(uri))
        if not versions:
            return ModelPanel(
                message=f"No model registered as {MODEL_NAME} yet: run training (`fx run`)."
            )
        champion = next((v for v in versions if CHAMPION in v.aliases), None)
        return ModelPanel(
            champion=champion,
            challenger=next((v for v in versions if CHALLENGER in v.aliases), None),
            versions=versions[:RECENT_VERSIONS],
            message=None
            if champion
            else f"No champion yet: no version of {MODEL_NAME} carries the `champion` alias.",
        )
    except Exception as exc:
        # The page shows one line, never a traceback, whatever the store throws.
        return ModelPanel(
            message=f"Model registry unreachable ({redact_url(uri)}): {one_line(exc)}",
            problem=True,
        )
