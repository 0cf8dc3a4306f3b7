"""A Celery cluster on this machine, for the distributed test and bench/distributed.py.

The local RabbitMQ (127.0.0.1:5672, guest), PostgreSQL databases of their own for the
Dagster instance, the warehouse and MLflow, an MLflow server, an S3 server standing in for
MinIO (moto's), and ``dagster-celery`` workers, each in its own working directory with
its own temporary folder, FX_HOME and DAGSTER_HOME. Runs are launched either through
the deployment's own Dagster services (``deployment``: a code server, the webserver and
the daemon, as docker-compose.yml runs them) or through the instance with ``dagster job
execute``, as a person would from a shell.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.support import ROOT
from tests.support.dagster_api import Dagster
from tests.support.fullstack import Tracked, descendants, free_port, kill_pids

BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"
# What every process of the cluster gets besides its own folders: a brief run (few folds,
# a short backtest) whose tuning still lasts long enough (about 10 s on a warm worker) for
# a worker to be killed in the middle of it.
KNOBS = {
    "FX_TEST_DAYS": "40",
    "FX_GAP_DAYS": "1",
    "FX_CV_FOLDS": "2",
    "FX_TUNING_BUDGET": "12",
    "FX_BACKTEST_MIN_TRAIN_DAYS": "150",
    "FX_BACKTEST_REFIT_DAYS": "40",
}
# The step that prints this holds the worker's node name in its metadata (dagster-celery's
# tasks.py): how a run tells which worker ran which step.
EXECUTING = "in celery worker"


def broker_up() -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", 5672), timeout=2):
        return True
    return False


def purge_queue() -> None:
    """Drop steps an aborted earlier run left in the shared ``dagster`` queue."""
    from kombu import Connection
    from kombu.exceptions import OperationalError

    with Connection(BROKER) as conn, contextlib.suppress(OperationalError, Exception):
        conn.default_channel.queue_purge("dagster")


@dataclass
class Databases:
    """Fresh PostgreSQL databases on the FX_TEST_POSTGRES_URL server, dropped at the end."""

    server: str
    prefix: str = field(default_factory=lambda: f"fx_dist_{uuid.uuid4().hex[:8]}")
    made: list[str] = field(default_factory=list)

    def _admin(self) -> sa.Engine:
        url = make_url(self.server).set(drivername="postgresql+psycopg")
        return sa.create_engine(url, isolation_level="AUTOCOMMIT")

    def create(self, what: str) -> str:
        name = f"{self.prefix}_{len(self.made)}_{what}"
        engine = self._admin()
        with engine.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        self.made.append(name)
        return name

    def url(self, name: str, driver: str = "postgresql") -> str:
        return make_url(self.server).set(drivername=driver, database=name).render_as_string(False)

    def drop(self) -> None:
        engine = self._admin()
        with engine.connect() as conn:
            for name in self.made:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def base_env() -> dict[str, str]:
    """The caller's environment without any setting of the platform or of Dagster."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FX_", "DAGSTER_", "MLFLOW_", "AWS_", "TWELVEDATA_"))
    } | {
        "PYTHONPATH": str(ROOT),
        "PYTHONUNBUFFERED": "1",
        # `dagster-celery worker start` runs `celery` from PATH: this interpreter's.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def instance_env(dbs: Databases, dagster_db: str) -> dict[str, str]:
    """The variables the root dagster.yaml reads, for this cluster's instance."""
    url = make_url(dbs.server)
    return {
        "DAGSTER_PG_HOST": url.host or "127.0.0.1",
        "DAGSTER_PG_PORT": str(url.port or 5432),
        "DAGSTER_PG_USER": url.username or "postgres",
        # Local trust authentication: set because dagster.yaml reads it, never checked.
        "DAGSTER_PG_PASSWORD": url.password or "unused",
        "DAGSTER_PG_DB": dagster_db,
    }


def dagster_home(folder: Path) -> Path:
    """A Dagster home holding the deployment's own dagster.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "dagster.yaml", folder / "dagster.yaml")
    return folder


@contextlib.contextmanager
def mlflow_server(backend_uri: str, folder: Path) -> Iterator[str]:
    """``mlflow server`` on a free port, serving the artifacts it keeps in ``folder``."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--backend-store-uri", backend_uri,
        "--artifacts-destination", (folder / "artifacts").as_uri(), "--serve-artifacts",
    ]  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    # As compose runs it: no job runner (several huey consumer processes, unused here).
    env = base_env() | {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    server = Tracked.start(cmd, env, folder / "mlflow.log", cwd=folder)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            assert server.popen.poll() is None, server.tail()
            assert time.monotonic() < deadline, f"MLflow never answered:\n{server.tail()}"
            time.sleep(0.5)
        yield url
    finally:
        server.stop()


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server (the API MinIO speaks) on a free port, with the bucket ``fx-io``."""
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        boto3.client(
            "s3",
            endpoint_url=url,
            aws_access_key_id="fx-io",
            aws_secret_access_key="fx-io-secret",
            region_name="us-east-1",
        ).create_bucket(Bucket="fx-io")
        yield url
    finally:
        server.stop()


def s3_env(endpoint: str) -> dict[str, str]:
    return {
        "FX_IO_BUCKET": "fx-io",
        "FX_S3_ENDPOINT_URL": endpoint,
        "FX_S3_ACCESS_KEY": "fx-io",
        "FX_S3_SECRET_KEY": "fx-io-secret",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


@dataclass
class Worker:
    name: str
    process: Tracked

    def node(self) -> str:
        return f"{self.name}@{socket.gethostname()}"

    def kill(self) -> list[int]:
        """SIGKILL the worker and every process under it at once: a container's death."""
        tree = {self.process.popen.pid: 0, **descendants(self.process.popen.pid)}
        killed = kill_pids(tree)
        self.process.popen.wait(10)
        return killed

    def kill_pool_process(self) -> list[int]:
        """SIGKILL only the process running the worker's step (what the kernel's OOM killer
        does); the worker itself lives on and starts a new one."""
        root = self.process.popen.pid
        main = [pid for pid in descendants(root) if _parent(pid) == root]
        pool = {pid: 0 for m in main for pid in descendants(m) if _parent(pid) == m}
        return kill_pids(pool)


def _parent(pid: int) -> int | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(raw[raw.rindex(")") + 2 :].split()[1])


def start_worker(name: str, folder: Path, env: dict[str, str], cpu: int | None = None) -> Worker:
    """``dagster-celery worker start`` with the deployment's worker config, one step at a
    time, in ``folder`` (its cwd, TMPDIR, FX_HOME and DAGSTER_HOME); on core ``cpu`` if given."""
    for sub in ("tmp", "fx", "dagster"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    dagster_home(folder / "dagster")
    own = {
        "TMPDIR": str(folder / "tmp"),
        "FX_HOME": str(folder / "fx"),
        "DAGSTER_HOME": str(folder / "dagster"),
    }
    exe = Path(sys.executable).parent / "dagster-celery"
    cmd = [
        str(exe), "worker", "start", "-A", "dagster_celery.app",
        "-y", str(ROOT / "deploy" / "dagster" / "celery.yaml"), "-n", name,
        "--", "--concurrency=1", "--without-gossip",
    ]  # fmt: skip
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    process = Tracked.start(cmd, env | own, folder / "worker.log", cwd=folder)
    process.wait_for_line(" ready.", timeout=120)
    return Worker(name, process)


def _job_command(job: str, pair: str | None) -> list[str]:
    exe = Path(sys.executable).parent / "dagster"
    cmd = [str(exe), "job", "execute", "-m", "fx_assets.definitions", "-j", job]
    if pair is not None:
        cmd += ["--tags", json.dumps({"dagster/partition": pair})]
    return cmd


def execute_job(
    job: str,
    env: dict[str, str],
    folder: Path,
    log: str,
    timeout: float = 900,
    cpu: int | None = None,
    pair: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """``dagster job execute`` of the code location's ``job`` (for ``pair``'s partition):
    the run's orchestrator (and, in process, its steps); on core ``cpu`` if given."""
    folder.mkdir(parents=True, exist_ok=True)
    cmd = _job_command(job, pair)
    if cpu is not None:
        cmd = ["taskset", "-c", str(cpu), *cmd]
    with (folder / log).open("w") as out:
        done = subprocess.run(
            cmd, env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT, timeout=timeout
        )
    return subprocess.CompletedProcess(cmd, done.returncode, (folder / log).read_text(), "")


def worker_of(record: Any) -> str | None:
    """The node name of the worker that took the record's step, if the record is the
    engine event a worker writes when it starts a step; else None."""
    event = record.dagster_event
    if event is None or not event.is_engine_event or EXECUTING not in (event.message or ""):
        return None
    return str(event.engine_event_data.metadata["Celery worker"].value)


def step_workers(instance: object, run_id: str) -> dict[str, list[str]]:
    """step key -> the node names of the workers that started it, in order."""
    from dagster import DagsterEventType

    out: dict[str, list[str]] = {}
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):  # type: ignore[attr-defined]
        worker = worker_of(record)
        if worker is not None:
            out.setdefault(str(record.step_key), []).append(worker)
    return out


@contextlib.contextmanager
def deployment(env: dict[str, str], folder: Path) -> Iterator[Dagster]:
    """The deployment's Dagster services, each started with its own line of
    deploy/Procfile (what `fx up` runs, one line per compose service): the gRPC code server
    of ``fx_assets.definitions`` (the default run launcher starts each run's process
    there: the run's orchestrator), then the webserver and the daemon, reading
    deploy/dagster/workspace.yaml and the instance's dagster.yaml (its run queue and
    pools). Sensors and schedules are stopped before the daemon starts, so that the runs
    are the caller's only. Yields the webserver's GraphQL API."""
    from fx_assets.cli.up import procfile

    folder.mkdir(parents=True, exist_ok=True)
    lines = procfile(ROOT / "deploy")
    web_port = free_port()
    env = env | {
        "FX_UP_HOST": "127.0.0.1",
        "FX_UP_WORKSPACE": str(ROOT / "deploy" / "dagster" / "workspace.yaml"),
        "FX_UP_MLFLOW_USERS_READY": "",  # no MLflow users to wait for
        "DAGSTER_CODE_HOST": "127.0.0.1",
        "DAGSTER_CODE_PORT": str(free_port()),
        "DAGSTER_WEBSERVER_PORT": str(web_port),
    }
    started: list[Tracked] = []

    def start(service: str) -> None:
        cmd = ["sh", "-c", lines[service]]
        started.append(Tracked.start(cmd, env, folder / f"{service}.log", cwd=folder))

    try:
        start("dagster-code")
        start("dagster-webserver")
        api = Dagster(f"http://127.0.0.1:{web_port}")
        api.wait_loaded()
        api.stop_automation()
        start("dagster-daemon")
        yield api
    finally:
        # The daemon first: nothing new is launched while the others stop.
        for process in reversed(started):
            process.stop(signal.SIGTERM)
