"""Test helpers: real ECB feature rows in the warehouse, and champions in a real registry.

``register_champion`` follows the training contract exactly (``mlflow.sklearn`` model
with a FEATURES signature, registered as ``eur_usd_direction``, version tags, alias
``champion``), so inference and the service are tested against what training writes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import mlflow
import mlflow.sklearn
import pandas as pd
import pytest
import sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fx_assets.core.contracts import FINAL, PREDICTIONS, STAGING
from fx_assets.core.domain import FEATURES, TARGET
from fx_assets.core.features import build_features, build_final
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.models import registry
from fx_assets.core.models.loader import record_artifact_hash
from fx_assets.core.models.ranges import TAG_FEATURE_RANGES, Ranges
from fx_assets.core.pairs import DEFAULT_PAIR, model_name
from fx_assets.core.warehouse import Warehouse
from tests.conftest import FX_VARS

# Feature rows from the ECB fixings of this range; the champion trains up to CUTOFF
# (a Friday), so predictions start on Monday 2024-07-01.
START, END, CUTOFF = date(2023, 6, 1), date(2024, 9, 30), date(2024, 6, 28)


@pytest.fixture(scope="session")
def mlflow_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow store with its schema migrated once per session (~10 s each time)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    store = SqlAlchemyStore(f"sqlite:///{path}", (path.parent / "artifacts").as_uri())
    store.engine.dispose()
    return path


def seed_home(home: Path, template: Path) -> None:
    """A fresh FX_HOME whose MLflow store starts from the migrated template."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, home / "mlflow.db")
    (home / "dagster").mkdir(exist_ok=True)
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")


def home_env(home: Path) -> dict[str, str]:
    return {"FX_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}


@contextlib.contextmanager
def use_home(home: Path) -> Iterator[pytest.MonkeyPatch]:
    """FX_HOME (and nothing else of ours) in the environment, for module-scoped fixtures."""
    with pytest.MonkeyPatch.context() as mp:
        for var in FX_VARS:
            mp.delenv(var, raising=False)
        for key, value in home_env(home).items():
            mp.setenv(key, value)
        yield mp


@contextlib.contextmanager
def anonymous(home: Path) -> Iterator[pytest.MonkeyPatch]:
    """``use_home`` for an in-process service without a token (FX_API_ANONYMOUS=true)."""
    with use_home(home) as mp:
        mp.setenv("FX_API_ANONYMOUS", "true")
        yield mp


@dataclass(frozen=True)
class World:
    """A home with ECB feature rows, a registered champion and its stored predictions."""

    home: Path
    final: pd.DataFrame
    version: str

    @property
    def warehouse_url(self) -> str:
        return f"sqlite:///{self.home / 'warehouse.db'}"


def build_world(home: Path, template: Path, *, predictions: bool = True) -> World:
    """Call inside ``use_home(home)``."""
    from fx_assets.core.models.champion import load_champion
    from fx_assets.core.models.inference import InProcessScorer, predict

    seed_home(home, template)
    url = f"sqlite:///{home / 'warehouse.db'}"
    final = fill_warehouse(url, START, END)
    version = register_champion(final, CUTOFF)
    if predictions:
        rows = predict(final, [], InProcessScorer(load_champion()))
        Warehouse(url).for_pair(DEFAULT_PAIR).insert_new(PREDICTIONS, rows)
    return World(home=home, final=final, version=version)


def add_pair(
    world: World,
    pair: str,
    *,
    end: date = END,
    champion: bool = True,
    predictions: bool = True,
    c: float = 0.1,
) -> str | None:
    """A second pair in ``world``'s home, its tables written directly (the sources give
    only EUR/USD on this branch): the ECB feature rows up to ``end`` as ``pair``'s, a
    champion registered under ``pair``'s model name (unless ``champion`` is false), its
    stored predictions. The champion's version, or None. Call inside ``use_home``."""
    from fx_assets.core.models.champion import load_champion
    from fx_assets.core.models.inference import InProcessScorer, predict

    wh = Warehouse(world.warehouse_url).for_pair(pair)
    final = world.final[world.final["date"] <= pd.Timestamp(end)].reset_index(drop=True)
    staging = Warehouse(world.warehouse_url).read(STAGING, pair=DEFAULT_PAIR)
    wh.replace_all(STAGING, staging[staging["date"] <= pd.Timestamp(end)])
    wh.replace_all(FINAL, final)
    if not champion:
        return None
    version = register_champion(final, CUTOFF, c=c, name=model_name(pair))
    if predictions:
        scorer = InProcessScorer(load_champion(name=model_name(pair)))
        wh.insert_new(PREDICTIONS, predict(final, [], scorer))
    return version


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def uvicorn_process(home: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """``uvicorn fx_serving.app:app`` as a real process on a free loopback port; its URL.

    The service runs on ``home`` (and ``env``; anonymous unless it sets FX_API_TOKEN); its
    output goes to ``home/uvicorn.log``.
    """
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if k not in FX_VARS}
    env = env or {}
    anonymous = {} if "FX_API_TOKEN" in env else {"FX_API_ANONYMOUS": "true"}
    full_env |= home_env(home) | anonymous | env
    command = [sys.executable, "-m", "uvicorn", "fx_serving.app:app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    log = home / "uvicorn.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not _answers(url):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"uvicorn exited with {proc.returncode}: {log.read_text()[-2000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not answer /health: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    """Terminate a server process we started; kill it if it ignores that for 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def ecb_tables(
    start: date, end: date, pair: str = DEFAULT_PAIR
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``pair``'s ``fx_staging`` and ``fx_final`` rows from the shipped ECB rates (a book of
    that pair alone for the cross-currency features)."""
    staging = build_features(EcbSource().fetch(start, end, pair=pair), pair=pair)
    return staging, build_final(staging)


def fill_warehouse(url: str, start: date, end: date, pair: str = DEFAULT_PAIR) -> pd.DataFrame:
    """Write ``pair``'s staging and final for [start, end] from its ECB cross; its final."""
    staging, final = ecb_tables(start, end, pair)
    wh = Warehouse(url).for_pair(pair)
    wh.replace_all(STAGING, staging)
    wh.replace_all(FINAL, final)
    return final


def register_champion(
    final: pd.DataFrame,
    cutoff: date,
    *,
    c: float = 1.0,
    alias: bool = True,
    pair: str = DEFAULT_PAIR,
    name: str | None = None,
) -> str:
    """Train on rows up to ``cutoff``, register a version of ``pair``'s model (or of
    ``name``), make it champion; its version."""
    name = name or model_name(pair)
    train = final[(final["date"] <= pd.Timestamp(cutoff)) & final[TARGET].notna()]
    x, y = train[FEATURES], train[TARGET].astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=500)).fit(x, y)
    registry.configure_mlflow()
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            signature=infer_signature(x, model.predict_proba(x)),
            registered_model_name=name,
            # Inferring requirements imports the model in a subprocess: seconds per model.
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
            serialization_format="skops",
        )
    version = str(info.registered_model_version)
    client = registry.client()
    record_artifact_hash(client, version, name)
    tags = {
        registry.TAG_LIFECYCLE: "challenger",
        registry.TAG_FEATURES: ",".join(FEATURES),
        registry.TAG_TRAINING_CUTOFF: cutoff.isoformat(),
        registry.TAG_TEST_PR_AUC: "0.52",
        registry.TAG_BASELINE_PR_AUC: "0.5",
        TAG_FEATURE_RANGES: Ranges.of(train, FEATURES).to_tag(),
    }
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    if alias:
        promote(version, name=name)
    return version


def promote(version: str, pair: str = DEFAULT_PAIR, *, name: str | None = None) -> None:
    name = name or model_name(pair)
    client = registry.client()
    client.set_registered_model_alias(name, registry.CHAMPION, version)
    client.set_model_version_tag(name, version, registry.TAG_LIFECYCLE, "champion")
