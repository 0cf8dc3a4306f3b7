"""MLflow tracking and registry conventions shared by training, inference, service and UI.

Dagster-free. The registered model ``eur_usd_direction`` carries two aliases,
``champion`` and ``challenger``; every version carries a ``lifecycle`` tag
(challenger, champion, archived or rejected) and the tags below that tell a
consumer which features the model expects and where its training data ended.
"""

from __future__ import annotations

import os
from pathlib import Path

MODEL_NAME = "eur_usd_direction"
EXPERIMENT_NAME = "eur_usd_direction"
CHAMPION = "champion"
CHALLENGER = "challenger"

# Version (and run) tags.
TAG_LIFECYCLE = "lifecycle"
TAG_FEATURES = "features"  # comma-separated feature list, in model input order
TAG_TRAINING_CUTOFF = "training_cutoff"  # ISO date of the last training row
TAG_TEST_PR_AUC = "test_pr_auc"
TAG_BASELINE_PR_AUC = "baseline_pr_auc"
TAG_PROMOTED_AT = "promoted_at"

LIFECYCLE_STATES = ("challenger", "champion", "archived", "rejected")


def tracking_uri() -> str:
    from fx_assets.config import load_settings

    return load_settings().mlflow_tracking_uri


def configure_mlflow() -> str:
    """Point the ``mlflow`` module at our store; create the experiment with our artifact root."""
    import mlflow

    from fx_assets.config import load_settings

    settings = load_settings()
    uri = settings.mlflow_tracking_uri
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    if client.get_experiment_by_name(EXPERIMENT_NAME) is None:
        # A local store keeps artifacts under FX_HOME; a tracking server decides for itself.
        local = uri.startswith(("sqlite:", "file:", "/")) or "://" not in uri
        client.create_experiment(
            EXPERIMENT_NAME,
            artifact_location=settings.mlflow_artifact_root if local else None,
        )
    mlflow.set_experiment(EXPERIMENT_NAME)
    os.environ.setdefault("MLFLOW_TRACKING_URI", uri)
    return uri


def client():  # type: ignore[no-untyped-def]
    """An ``MlflowClient`` on the configured tracking and registry store."""
    import mlflow

    uri = configure_mlflow()
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
