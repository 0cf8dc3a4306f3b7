"""The Dagster instance and `fx up`: the root dagster.yaml is a valid PostgreSQL
instance with the run queue and no secret, the SQLite variant `fx up` writes keeps the
same queue, the Procfile runs the compose services' commands, the Dockerfile's shape,
and `dagster dev` in the repository root still runs without PostgreSQL.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fx_assets.cli.up import GENERATED_MARKER, deploy_dir, instance_yaml, procfile, write_instance
from tests.support import ROOT
from tests.support.compose import services

# What MLflow reads as "in CI or a test" (mlflow/telemetry/utils.py), telemetry off.
CI_VARIABLES = {"CI", "PYTEST_CURRENT_TEST", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL"}

# --- dagster.yaml and fx up --------------------------------------------------------------
PG_ENV = {
    "DAGSTER_PG_HOST": "127.0.0.1",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_USER": "fx_dagster",
    "DAGSTER_PG_PASSWORD": "not-in-the-file",
    "DAGSTER_PG_DB": "dagster",
}


def test_dagster_yaml_is_postgres_from_env_with_queue_limits_retries_and_no_telemetry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.instance.config import dagster_instance_config

    source = ROOT / "dagster.yaml"
    raw = yaml.safe_load(source.read_text())
    storage = raw["storage"]["custom"]
    assert storage["module"] == "fx_assets.dagster_adapter"
    assert storage["class"] == "PostgresOrSqliteStorage"
    pg = storage["config"]["postgres_db"]
    assert all(isinstance(v, dict) and set(v) == {"env"} for k, v in pg.items() if k != "scheme")
    for var, value in PG_ENV.items():
        monkeypatch.setenv(var, value)
    shutil.copy(source, tmp_path / "dagster.yaml")
    config, _ = dagster_instance_config(str(tmp_path))  # validates against Dagster's schema
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    # The queue's limits sit in `concurrency: runs:` beside the pools' (Dagster refuses
    # them in the run coordinator once pools are configured).
    runs = config["concurrency"]["runs"]
    assert runs["max_concurrent_runs"] >= 1
    assert {"key": "fx/pool", "value": "training", "limit": 2} in runs["tag_concurrency_limits"]
    # One run per pair at a time: two trainings of one pair never overlap.
    per_pair = {"key": "dagster/partition", "value": {"applyLimitPerUniqueValue": True}}
    assert {**per_pair, "limit": 1} in runs["tag_concurrency_limits"]
    pools = config["concurrency"]["pools"]
    assert pools["granularity"] == "op" and pools["default_limit"] >= 1
    assert config["run_retries"]["enabled"] and config["run_retries"]["max_retries"] >= 1
    assert config["telemetry"] == {"enabled": False}
    assert "not-in-the-file" not in source.read_text()


def test_training_runs_carry_the_tag_the_queue_limits() -> None:
    from tests.support.code_location import load

    defs = load()

    raw = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    limit = raw["concurrency"]["runs"]["tag_concurrency_limits"][0]
    assert defs.resolve_job_def("training_job").tags.get(limit["key"]) == limit["value"]
    assert limit["limit"] == 2
    # Training runs are of one pair: the queue's per-partition limit applies to them.
    assert defs.resolve_job_def("training_job").partitions_def is not None


def test_the_instance_file_without_postgres_is_sqlite_in_the_dagster_home_with_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import DagsterInstance

    # What a fresh clone has: no DAGSTER_PG_*; the file `fx up` copies is the root one.
    for var in PG_ENV:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert write_instance(tmp_path, instance_yaml(deploy_dir()))
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert (tmp_path / "history" / "runs.db").exists()
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        # What the daemon's queue applies (`concurrency: runs:` over the coordinator's).
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config is not None
        limits = concurrency.run_queue_config.tag_concurrency_limits
        assert {"key": "fx/pool", "value": "training", "limit": 2} in limits
        # The pools of the training and backtest assets get the file's default limit.
        assert concurrency.pool_config.default_pool_limit == 2
        assert instance.run_retries_enabled and not instance.telemetry_enabled
    finally:
        instance.dispose()


@pytest.mark.postgres
def test_the_instance_file_with_dagster_pg_host_is_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    from dagster import DagsterInstance
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    pg = {
        "DAGSTER_PG_HOST": url.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_USER": url.username or "postgres",
        "DAGSTER_PG_PASSWORD": url.password or "",
        "DAGSTER_PG_DB": url.database or "",
    }
    for var, value in pg.items():
        monkeypatch.setenv(var, value)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    assert write_instance(tmp_path, instance_yaml(deploy_dir()))
    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert not (tmp_path / "history").exists()
    finally:
        instance.dispose()


def test_fx_up_rewrites_its_own_instance_file_and_keeps_a_users(tmp_path: Path) -> None:
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # what fx writes
    assert write_instance(tmp_path, instance_yaml(deploy_dir()))
    assert (tmp_path / "dagster.yaml").read_text().startswith(GENERATED_MARKER)
    assert write_instance(tmp_path, instance_yaml(deploy_dir()))
    (tmp_path / "dagster.yaml").write_text("# mine\ntelemetry:\n  enabled: true\n")
    assert not write_instance(tmp_path, instance_yaml(deploy_dir()))
    assert (tmp_path / "dagster.yaml").read_text().startswith("# mine")


def test_procfile_runs_the_compose_services_commands() -> None:
    procs = procfile(deploy_dir())
    svc = services()
    assert set(procs) == {"dagster-code", "dagster-webserver", "dagster-daemon"} | {
        "mlflow",
        "model-service",
        "dashboard",
    }
    for name, line in procs.items():
        command = svc[name]["command"]
        words = [w for w in command if not w.startswith("-")]
        assert " ".join(words) in line, (name, words, line)
    assert "fx_assets.definitions" in procs["dagster-code"]


# --- the image ---------------------------------------------------------------------------
def test_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, flags=re.M | re.I)
    assert len(stages) >= 2
    runtime = re.split(r"^FROM\s", text, flags=re.M)[-1]
    # Every stage on the one base argument, whose default is the slim image by digest.
    assert {image for image, _ in stages} == {"${BASE_IMAGE}"}
    (base,) = re.findall(r"^ARG BASE_IMAGE=(\S+)", text, flags=re.M)
    assert re.fullmatch(r"python:3\.11-slim[\w.-]*@sha256:[0-9a-f]{64}", base), base
    assert re.search(r"^COPY --from=build /opt/venv", runtime, flags=re.M)
    users = re.findall(r"^USER\s+(\S+)", runtime, flags=re.M)
    assert users and users[-1] not in ("root", "0")
    assert "DAGSTER_HOME=/opt/dagster/dagster_home" in runtime.replace("\\\n", " ")
    assert "dagster.yaml /opt/dagster/dagster_home/dagster.yaml" in runtime
    assert "pip install" not in runtime  # dependencies come built from the build stage
    # MLflow's telemetry off in every container, the MLflow server's too.
    assert "MLFLOW_DISABLE_TELEMETRY=true" in runtime.replace("\\\n", " ")


def test_mlflow_telemetry_is_off_wherever_the_code_location_loads() -> None:
    # As a deployment's process has it: no CI variable (MLflow turns telemetry off in CI
    # by itself), nothing set by a person. Its telemetry thread, failing to reach its
    # server, removed a variable under the training's own MLflow requests (a KeyError).
    env = {k: v for k, v in os.environ.items() if k not in CI_VARIABLES}
    env.pop("MLFLOW_DISABLE_TELEMETRY", None)
    code = (
        "import fx_assets.definitions, mlflow\n"
        "from mlflow.telemetry.client import get_telemetry_client\n"
        "print(get_telemetry_client() is None, flush=True)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"


# --- `dagster dev` in the repository root ------------------------------------------------
@pytest.mark.fullstack
@pytest.mark.timeout(420)
def test_dagster_dev_in_the_repo_root_runs_on_sqlite_without_postgres(tmp_path: Path) -> None:
    import sys

    from tests.support.dagster_api import Dagster
    from tests.support.fullstack import Tracked, free_port

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FX_", "DAGSTER_", "MLFLOW_", "TWELVEDATA_"))
    }
    # FX_BOOTSTRAP: the server is stopped before any first start could finish.
    env.update(
        {
            "FX_HOME": str(tmp_path / "fx"),
            "DAGSTER_HOME": str(tmp_path / "home"),
            "FX_BOOTSTRAP": "false",
        }
    )
    (tmp_path / "home").mkdir()  # no dagster.yaml: Dagster's defaults
    port = free_port()
    exe = str(Path(sys.executable).parent / "dagster")
    dev = Tracked.start(
        [exe, "dev", "--host", "127.0.0.1", "--port", str(port)], env, tmp_path / "dev.log"
    )
    try:
        dev.wait_for_line("Serving dagster-webserver", timeout=300)
        dagster = Dagster(f"http://127.0.0.1:{port}")
        dagster.wait_loaded(timeout=240)
        data = dagster.query(
            "{ instance { info } repositoriesOrError { ... on RepositoryConnection { nodes {"
            " location { name } jobs { name } } } } }"
        )
        (repo,) = data["repositoriesOrError"]["nodes"]
        assert repo["location"]["name"] == "fx_assets"
        jobs = {j["name"] for j in repo["jobs"]}
        assert {"etl_job", "training_job", "predictions_job"} <= jobs, jobs
        info = data["instance"]["info"] or ""
        assert "Sqlite" in info and "Postgres" not in info, info
    finally:
        dev.stop()
    assert not dev.alive()
