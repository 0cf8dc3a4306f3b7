"""The one way a registered version becomes an estimator: skops, our types, its hash checked.

Dagster-free. The service, the predictions, the backtest and the promotion all load a
version through ``load_estimator``; nothing else deserializes a model. A version's own
``MLmodel`` file is never read for how to load it: its ``serialization_format`` and
``skops_trusted_types`` are whatever whoever registered it wrote, so trusting them would
let anyone who can register a version run code wherever the champion loads (a pickle
runs its ``__reduce__`` on load). Instead:

- only the skops file is read, with the trusted types of ``TRUSTED_TYPES`` below (skops
  refuses any other type before building it, and never unpickles);
- its SHA-256 must equal the ``artifact_sha256`` tag training recorded when it registered
  the version (``record_artifact_hash``), so a file changed in the artifact store after
  registration is refused too.

A version that fails is refused with ``ModelRefusedError``: one line naming the version
and why. Versions registered before the hash tag existed are refused as well (retrain:
the weekly training registers a hashed one); tagging them now would bless whatever
bytes the store holds today, which is exactly what cannot be vouched for.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import Any

from fx_assets.core.domain import MODEL_NAME

# Types skops may load besides scikit-learn's and numpy's own (which skops trusts by
# itself): our trees and boosters and the pooled family's volatility scaler (a class of
# ours; its state is column indices), nothing else. scikit-learn's Tree stays for
# champions registered before the forest moved to XGBoost.
TRUSTED_TYPES = (
    "fx_assets.core.training.pooled.VolatilityScaler",
    "sklearn.tree._tree.Tree",
    "xgboost.core.Booster",
    "xgboost.sklearn.XGBClassifier",
    "xgboost.sklearn.XGBRFClassifier",
)
TAG_ARTIFACT_SHA256 = "artifact_sha256"
# The file mlflow.sklearn writes for serialization_format="skops", inside the model folder.
MODEL_FILE = "model.skops"


class ModelRefusedError(RuntimeError):
    """A version that must not be loaded; the message names it and says why, in one line."""


def _refused(name: str, version: str, why: str) -> ModelRefusedError:
    return ModelRefusedError(f"{name} version {version} refused: {why}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(client: Any, name: str, version: str, folder: Path) -> Path:
    """The version's skops file, copied into ``folder``; refused when it has none."""
    import mlflow.artifacts

    root = client.get_model_version_download_uri(name, version)
    try:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"{root.rstrip('/')}/{MODEL_FILE}",
            dst_path=str(folder),
            tracking_uri=client.tracking_uri,
        )
    except Exception:
        # A pickle-format version (model.pkl) or anything else not written by our training.
        raise _refused(
            name, version, f"its artifact has no {MODEL_FILE} (only skops models load); retrain"
        ) from None
    return Path(local)


def artifact_sha256(client: Any, version: str, name: str = MODEL_NAME) -> str:
    """The SHA-256 of ``version``'s skops file as the artifact store holds it now."""
    with tempfile.TemporaryDirectory(prefix="fx-model-") as tmp:
        return _sha256(_download(client, name, str(version), Path(tmp)))


def record_artifact_hash(client: Any, version: str, name: str = MODEL_NAME) -> str:
    """At registration (training): tag ``version`` with its skops file's SHA-256; the hash."""
    sha = artifact_sha256(client, version, name)
    client.set_model_version_tag(name, str(version), TAG_ARTIFACT_SHA256, sha)
    return sha


def load_estimator(client: Any, version: str, name: str = MODEL_NAME) -> Any:
    """The estimator of ``name`` version ``version``, or ``ModelRefusedError`` saying why."""
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    version = str(version)
    tags = dict(client.get_model_version(name, version).tags or {})
    expected = tags.get(TAG_ARTIFACT_SHA256, "").strip().lower()
    if not expected:
        raise _refused(
            name,
            version,
            f"no '{TAG_ARTIFACT_SHA256}' tag (registered before artifact hashes or not by"
            " training); retrain with `fx run` to register a hashed version",
        )
    with tempfile.TemporaryDirectory(prefix="fx-model-") as tmp:
        path = _download(client, name, version, Path(tmp))
        if _sha256(path) != expected:
            raise _refused(
                name, version, f"{MODEL_FILE} does not match its '{TAG_ARTIFACT_SHA256}' tag"
            )
        try:
            untrusted = sorted(set(skops.io.get_untrusted_types(file=path)) - set(TRUSTED_TYPES))
            if untrusted:
                raise _refused(name, version, f"untrusted type(s) {', '.join(untrusted)}")
            return skops.io.load(path, trusted=list(TRUSTED_TYPES))
        except ModelRefusedError:
            raise
        except UntrustedTypesFoundException as exc:
            raise _refused(name, version, f"untrusted type(s): {exc}") from None
        except Exception as exc:
            raise _refused(
                name, version, f"{MODEL_FILE} is not a readable skops file ({type(exc).__name__})"
            ) from None
