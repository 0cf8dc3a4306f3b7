"""Test helpers: what an attacker could put in the registry, and a tampered artifact.

Each builds a version of ``eur_usd_direction`` in the real MLflow store of the current
FX_HOME (call inside ``tests.support.champions.use_home``) and aliases it champion, so the
service, the predictions, the backtest and the promotion meet it as they would for real.
"""

from __future__ import annotations

import os
from pathlib import Path

import mlflow
import mlflow.sklearn

from fx_assets.core.domain import FEATURES
from fx_assets.core.models import registry
from fx_assets.core.models.loader import record_artifact_hash
from tests.support.champions import CUTOFF, promote


class _Payload:
    """What an attacker registers: unpickling it runs code (it writes ``marker``)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def predict_proba(self, x: object) -> None:  # looks like a classifier to MLflow
        raise NotImplementedError

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('ran')",))


def register_pickle_champion(marker: Path) -> str:
    """A version whose ``MLmodel`` declares pickle and whose payload writes ``marker`` when
    loaded; tagged with its file's true SHA-256 and aliased champion. Its version."""
    import hashlib

    registry.configure_mlflow()
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            _Payload(marker),
            name="model",
            registered_model_name=registry.MODEL_NAME,
            serialization_format="pickle",
            pip_requirements=[],
        )
    version = str(info.registered_model_version)
    client = registry.client()
    pkl = artifact_folder(version) / "model.pkl"
    tags = {
        "artifact_sha256": hashlib.sha256(pkl.read_bytes()).hexdigest(),
        registry.TAG_FEATURES: ",".join(FEATURES),
        registry.TAG_TRAINING_CUTOFF: CUTOFF.isoformat(),
    }
    for key, value in tags.items():
        client.set_model_version_tag(registry.MODEL_NAME, version, key, value)
    promote(version)
    return version


def artifact_folder(version: str) -> Path:
    """The local folder of a version's model artifact (the store under FX_HOME)."""
    from urllib.parse import urlparse
    from urllib.request import url2pathname

    uri = registry.client().get_model_version_download_uri(registry.MODEL_NAME, version)
    return Path(url2pathname(urlparse(uri).path))


def tamper(version: str) -> None:
    """Change one byte of a registered version's skops file in the artifact store."""
    path = artifact_folder(version) / "model.skops"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def register_untrusted_champion() -> str:
    """A skops version whose ``MLmodel`` declares ``os.system`` a trusted type (as anyone
    registering a version may), hashed like training's and aliased champion. Its version."""
    from sklearn.preprocessing import FunctionTransformer

    registry.configure_mlflow()
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            FunctionTransformer(func=os.system),
            name="model",
            registered_model_name=registry.MODEL_NAME,
            serialization_format="skops",
            skops_trusted_types=["posix.system"],
            pip_requirements=[],
        )
    version = str(info.registered_model_version)
    client = registry.client()
    record_artifact_hash(client, version)
    for key, value in {
        registry.TAG_FEATURES: ",".join(FEATURES),
        registry.TAG_TRAINING_CUTOFF: CUTOFF.isoformat(),
    }.items():
        client.set_model_version_tag(registry.MODEL_NAME, version, key, value)
    promote(version)
    return version
