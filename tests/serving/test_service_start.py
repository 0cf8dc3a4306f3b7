"""What the service does to the world when it starts: as little as it can.

Real uvicorn processes: counts a previous start left in the Prometheus multiprocess
folder are wiped, not added to the new ones; and the service creates no MLflow
experiment (it may hold a read-only identity on the tracking server).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import mlflow
from prometheus_client.parser import text_string_to_metric_families

from fx_assets.core.domain import EXPERIMENT_NAME
from tests.support.champions import (
    mlflow_db_template,  # noqa: F401  (fixture)
    seed_home,
    uvicorn_process,
)

EARLIER_RUN = """
from fx_serving import metrics
for _ in range(5):
    metrics.reload_failed('EURUSD')
"""


def _reload_failures(url: str) -> float:
    families = text_string_to_metric_families(httpx.get(f"{url}/metrics").text)
    family = next(f for f in families if f.name == "fx_champion_reload_failures")
    return sum(s.value for s in family.samples if s.name.endswith("_total"))


def test_a_start_wipes_what_dead_processes_left_in_the_metrics_folder(
    tmp_path: Path,
    mlflow_db_template: Path,  # noqa: F811
) -> None:
    folder = tmp_path / "prometheus"
    folder.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    subprocess.run([sys.executable, "-c", EARLIER_RUN], env=env, check=True, timeout=120)
    assert any(folder.glob("counter_*.db"))  # the earlier process's five failures

    home = tmp_path / "fxhome"
    seed_home(home, mlflow_db_template)
    with uvicorn_process(home, {"PROMETHEUS_MULTIPROC_DIR": str(folder)}) as url:
        assert _reload_failures(url) == 0


def test_the_service_creates_no_mlflow_experiment(
    tmp_path: Path,
    mlflow_db_template: Path,  # noqa: F811
) -> None:
    home = tmp_path / "fxhome"
    seed_home(home, mlflow_db_template)
    with uvicorn_process(home) as url:
        assert httpx.get(f"{url}/ready").status_code == 503  # looked: no champion
    store = f"sqlite:///{home / 'mlflow.db'}"
    assert mlflow.MlflowClient(tracking_uri=store).get_experiment_by_name(EXPERIMENT_NAME) is None
