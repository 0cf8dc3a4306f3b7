"""The real image, built and run: `pytest -m container`.

A Debian bookworm base made with mmdebstrap (python:3.11-slim cannot be pulled here)
stands in for the Dockerfile's default base; the repository's Dockerfile is built on it
with `buildah bud`, and every Python service of docker-compose.yml is started from the
image with the environment the compose file gives it (`docker-compose config` on
.env.example's variables), on the host's network: service names and ports mapped to
127.0.0.1 and free ports, fresh databases and roles from deploy/postgres/init.sql on the
local PostgreSQL, and an S3 server (moto) where compose has MinIO. Each service must pass
its compose healthcheck; an ETL run launched through the webserver's GraphQL API runs in
the code server and fills the warehouse; a training run gives the model service a
champion. Every process is stopped at the end, by pid if need be.

Timings (base, build, services) are printed and appended to $FX_CONTAINER_CACHE/timings.log.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import boto3
import httpx
import psycopg
import pytest

from tests.support.container import (
    CACHE,
    IMAGE,
    Build,
    Buildah,
    HostNetwork,
    Service,
    base_image,
    build_image,
    compose_config,
    image_size,
    require_tools,
)
from tests.support.dagster_api import Dagster
from tests.support.fullstack import ROOT, StackDatabases, free_port

pytestmark = [pytest.mark.container, pytest.mark.timeout(3000)]

# As in tests/e2e/test_fullstack.py: a short ECB history keeps training to a minute or two.
START = date(2025, 10, 1)
RUN_AS = 10001  # the Dockerfile's USER
# What docker-compose.yml runs from ghcr-less local images and this test replaces:
EXTERNAL = {
    "postgres": "the local PostgreSQL",
    "minio": "moto's S3 server",
    "minio-init": "",
    "prometheus": "Debian's prometheus binary on the host (the last test)",
    "proxy": "Debian's caddy with the same Caddyfile (tests/deploy/test_proxy.py)",
    "alertmanager": "Debian's prometheus-alertmanager (tests/deploy/test_alertmanager.py)",
    "rabbitmq": "the Celery broker, with real workers in tests/deploy/test_distributed.py",
}
# Services of the image this test does not start, and why: here steps run in the code
# server (FX_EXECUTOR=in_process); tests/deploy/test_distributed.py runs the same
# dagster-celery worker command and config on two real workers against a real broker.
NOT_STARTED = {"celery-worker"}


@dataclass
class Image:
    b: Buildah
    base: str
    base_seconds: float
    build: Build
    size: int


def _timing(**fields: object) -> None:
    line = json.dumps({"at": datetime.now(UTC).isoformat(timespec="seconds"), **fields})
    print(f"container: {line}")
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "timings.log").open("a") as f:
        f.write(line + "\n")


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Image:
    require_tools()
    work = tmp_path_factory.mktemp("build")
    b = Buildah()
    base, base_seconds = base_image(b, work, work / "base.log")
    build = build_image(b, base, work, work / "build.log")
    size = image_size(b, IMAGE)
    _timing(
        what="image",
        base_seconds=round(base_seconds),
        build_seconds=round(build.seconds),
        dependency_layer_cached=build.dependency_layer_cached,
        size_mb=round(size / 1e6),
    )
    return Image(b, base, base_seconds, build, size)


def test_image_runs_as_non_root_without_compiler_or_pip_config(image: Image) -> None:
    config = image.b.inspect(IMAGE)
    docker = config["Docker"]["config"]
    assert docker["User"] == f"{RUN_AS}:{RUN_AS}"
    assert docker["Healthcheck"]["Test"][:2] == ["CMD", "python"], docker["Healthcheck"]
    assert docker["Env"] and any(e.startswith("DAGSTER_HOME=") for e in docker["Env"])
    probe = Service(image.b, "probe", [], {}, [], [], Path())
    probe.create(Path())
    try:
        script = (
            "id -u; for c in gcc cc g++ c++ make; do command -v $c && echo COMPILER $c; done;"
            " test -e /etc/pip.conf && echo PIPCONF; test -e /run/secrets/pip-ca.pem && echo CERT;"
            " echo OPT $(ls /opt);"
            " pip config list; test -d /src && echo SRC; cat $DAGSTER_HOME/dagster.yaml | head -1;"
            " fx info >/dev/null && echo FXINFO"
        )
        out = probe.exec(["sh", "-c", script], timeout=120)
    finally:
        probe.remove()
    lines = out.stdout.split()
    assert lines[0] == str(RUN_AS), out.stdout + out.stderr
    assert "COMPILER" not in lines, out.stdout
    # The build's pip configuration and CA bundle were mounts: nothing of them is left.
    assert "PIPCONF" not in lines and "CERT" not in lines and "global." not in out.stdout
    assert "OPT dagster fx venv" in out.stdout, out.stdout  # no mount point left behind
    assert "SRC" not in lines and "FXINFO" in lines, out.stdout + out.stderr
    # The size, for the report: the slim base plus the locked dependencies.
    assert image.size < 2_500_000_000, image.size


@dataclass
class Stack:
    services: dict[str, Service]
    net: HostNetwork
    dbs: StackDatabases
    token: str
    s3: object
    bucket: str
    timings: dict[str, float] = field(default_factory=dict)
    # The read-only MLflow identity (fx mlflow-users made it), for the test's own reads.
    mlflow_reader: tuple[str, str] = ("", "")

    def url(self, compose_port: int) -> str:
        return f"http://127.0.0.1:{self.net.ports[compose_port]}"


def _server() -> str:
    url = os.environ.get("FX_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("the container test needs FX_TEST_POSTGRES_URL (.ci/run sets it)")
        pytest.skip("FX_TEST_POSTGRES_URL not set")
    return url


def _env_file(path: Path) -> dict[str, str]:
    """.env.example as a user fills it in: every change-me replaced, the ECB source
    offline, a short history and small training settings."""
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = uuid.uuid4().hex if "change-me" in value else value.strip()
    values.update(
        FX_SOURCE="ecb",
        FX_START_DATE=START.isoformat(),
        FX_TEST_DAYS="60",
        FX_CV_FOLDS="2",
        FX_TUNING_BUDGET="2",
        FX_API_TOKEN=uuid.uuid4().hex,
        FX_CHAMPION_RELOAD_SECONDS="2",
        # The tests launch every run themselves (test_up_embedded.py shows the first start).
        FX_BOOTSTRAP="false",
        # One pair, its steps in the code server (see NOT_STARTED).
        FX_PAIRS="EURUSD",
        FX_EXECUTOR="in_process",
    )
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return values


def _start_order(compose: dict) -> list[list[str]]:
    """Waves of services whose dependencies come before them, as Compose starts them."""
    svc = compose["services"]
    waves: list[list[str]] = []
    done: set[str] = set()
    while len(done) < len(svc):
        wave = sorted(n for n in svc if n not in done and set(svc[n].get("depends_on", {})) <= done)
        assert wave, "depends_on cycle"
        waves.append(wave)
        done |= set(wave)
    return waves


@pytest.fixture(scope="module")
def stack(image: Image, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    from moto.server import ThreadedMotoServer

    server = _server()
    tmp = tmp_path_factory.mktemp("stack")
    env = _env_file(tmp / ".env")
    compose = compose_config(tmp / ".env")
    built = {n for n, s in compose["services"].items() if s.get("build")}
    assert set(compose["services"]) - built == set(EXTERNAL), "a new non-Python service?"
    assert built >= NOT_STARTED
    ours = built - NOT_STARTED
    dbs = StackDatabases.create(
        server,
        prefix="fxctr",
        passwords={
            "warehouse": env["WAREHOUSE_DB_PASSWORD"],
            "dagster": env["DAGSTER_PG_PASSWORD"],
            "mlflow": env["MLFLOW_DB_PASSWORD"],
            "reader": env["READER_DB_PASSWORD"],
        },
    )
    s3_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    net = HostNetwork(
        ports={p: free_port() for p in (3000, 3001, 4000, 5000, 8000, 8050)} | {9000: s3_port},
        names={
            "fx_warehouse": dbs.name("warehouse_role"),
            "fx_dagster": dbs.name("dagster_role"),
            "fx_mlflow": dbs.name("mlflow_role"),
            "fx_reader": dbs.name("reader_role"),
            "warehouse": dbs.name("warehouse"),
            "dagster": dbs.name("dagster"),
            "mlflow": dbs.name("mlflow"),
            "mlflow_auth": dbs.name("mlflow_auth"),
        },
        services=set(compose["services"]),
        pg_port=dbs.server.port or 5432,
    )
    logs = tmp / "logs"
    logs.mkdir()
    volumes = tmp / "volumes"
    services: dict[str, Service] = {}
    stack = Stack(services, net, dbs, env["FX_API_TOKEN"], None, env["MLFLOW_S3_BUCKET"])
    stack.mlflow_reader = ("fx-service", env["FX_MLFLOW_SERVICE_PASSWORD"])
    began = time.monotonic()
    try:
        # minio-init's work: the bucket (moto takes any key, as MinIO takes MLflow's).
        moto.start()
        stack.s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{s3_port}",
            aws_access_key_id=env["MLFLOW_S3_ACCESS_KEY"],
            aws_secret_access_key=env["MLFLOW_S3_SECRET_KEY"],
            region_name="us-east-1",
        )
        stack.s3.create_bucket(Bucket=stack.bucket)
        for wave in _start_order(compose):
            started = []
            for name in (n for n in wave if n in ours):
                spec = compose["services"][name]
                mounts = []
                for vol in spec.get("volumes", []):
                    # Compose's short form (`name:/path[:mode]`) or its long form.
                    if isinstance(vol, str):
                        source, target = vol.split(":")[:2]
                    else:
                        source, target = vol["source"], vol["target"]
                    host = volumes / source
                    host.mkdir(parents=True, exist_ok=True)
                    os.chown(host, RUN_AS, RUN_AS)
                    mounts.append(f"{host}:{target}")
                # Compose's tmpfs mounts, as host folders: writes there are allowed on the
                # read-only root (see test_no_service_writes_to_its_read_only_root).
                for entry in spec.get("tmpfs", []):
                    mounts.append(_tmpfs_folder(entry, tmp / "tmpfs" / name))
                service = Service.from_compose(image.b, name, spec, net, mounts)
                services[name] = service
                service.create(logs)
                if spec.get("restart") == "no":  # one-shot: runs to completion first
                    done = service.run_once()
                    assert done.returncode == 0, f"{name}: {done.stdout}{done.stderr}"
                    stack.timings[name] = round(time.monotonic() - began, 1)
                else:
                    service.start()
                    started.append(service)
            for service in started:
                service.wait_healthy()
                stack.timings[service.name] = round(time.monotonic() - began, 1)
        _timing(what="services healthy", seconds_since_start=stack.timings)
        yield stack
    finally:
        leftovers = {}
        # The daemon first: it launches the runs that execute in dagster-code, and its sensors
        # may launch one until it stops. Runs in flight are let finish before dagster-code
        # is stopped: `docker stop` would kill them after the grace period, and this
        # teardown checks that every service stops on SIGTERM, not how long a run takes.
        order = sorted(reversed(list(services.values())), key=lambda s: s.name != "dagster-daemon")
        for service in order:
            if service.process is not None:
                # `docker stop`: SIGTERM to the service's own first process, then, after
                # the grace period, a kill by pid of whatever is left.
                killed = service.stop(grace=20)
                if killed:
                    leftovers[service.name] = killed
            service.remove()
            if service.name == "dagster-daemon":
                _wait_for_runs_in_flight(dbs)
        moto.stop()
        dbs.drop()
        shutil.rmtree(volumes, ignore_errors=True)
        assert not leftovers, f"processes that outlived SIGTERM (killed by pid): {leftovers}"


def _wait_for_runs_in_flight(dbs: StackDatabases, timeout: float = 180) -> None:
    """Until no run of the stack's instance is starting, started or canceling (queued ones
    stay queued: the daemon that would dequeue them is stopped)."""
    query = "SELECT count(*) FROM runs WHERE status IN ('STARTING', 'STARTED', 'CANCELING')"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = dbs.psql("-tAc", query, db=dbs.name("dagster")).stdout.strip()
        if found == "0":
            return
        time.sleep(2)
    raise AssertionError(f"runs still in flight {timeout:.0f} s after the daemon stopped")


def _tmpfs_folder(entry: str, under: Path) -> str:
    """A host folder standing in for one of compose's ``tmpfs`` entries (``/path:opts``),
    with the mode and owner Docker gives a tmpfs (1777, or ``uid``/``gid``); a volume spec."""
    target, _, options = entry.partition(":")
    opts = dict(o.split("=", 1) for o in options.split(",") if "=" in o)
    host = under / target.strip("/").replace("/", "__")
    host.mkdir(parents=True)
    host.chmod(0o1777)
    if "uid" in opts:
        os.chown(host, int(opts["uid"]), int(opts.get("gid", opts["uid"])))
    return f"{host}:{target}"


def test_every_compose_service_answers_its_healthcheck_from_the_image(stack: Stack) -> None:
    long_running = {n for n, s in stack.services.items() if s.process is not None}
    assert long_running == {
        "mlflow",
        "model-service",
        "dagster-code",
        "dagster-webserver",
        "dagster-webserver-readonly",
        "dagster-daemon",
        "dashboard",
    }
    assert "warehouse-init" in stack.timings  # `fx migrate` ran and exited 0
    assert "mlflow-init" in stack.timings  # `fx mlflow-users` made the identities
    for name in sorted(long_running):
        service = stack.services[name]
        # The image's own HEALTHCHECK finds the same service from its command line.
        done = service.exec(["python", "/opt/fx/healthcheck.py", *service.command])
        assert done.returncode == 0, (name, done.stderr)
    # One smoke request to each HTTP service, from the host, on its published port.
    assert httpx.get(f"{stack.url(5000)}/health", timeout=10).text.strip() == "OK"
    assert httpx.get(f"{stack.url(8000)}/health", timeout=10).status_code == 200
    info = httpx.get(f"{stack.url(3000)}/server_info", timeout=10).json()
    assert info["dagster_webserver_version"], info
    page = httpx.get(f"{stack.url(8050)}/", timeout=30)
    assert page.status_code == 200 and "dash" in page.text.lower()


def test_services_run_as_the_images_non_root_user(stack: Stack) -> None:
    for name, service in stack.services.items():
        if service.process is None:
            continue
        uids = service.service_pids()
        assert uids, f"{name}: no process of its own"
        assert set(uids.values()) == {RUN_AS}, (name, uids)


def test_etl_and_training_through_the_webserver_reach_the_model_service(stack: Stack) -> None:
    dagster = Dagster(stack.url(3000))
    dagster.wait_loaded()
    # FX_PAIRS' pairs are partitions once the daemon has ticked the bootstrap sensor.
    dagster.wait_pairs(["EURUSD"])
    this_year = datetime.now(UTC).year
    tags = {
        "dagster/asset_partition_range_start": f"EURUSD|{START.year}",
        "dagster/asset_partition_range_end": f"EURUSD|{this_year}",
    }
    etl = dagster.wait(dagster.launch("etl_job", tags), timeout=300)
    assert etl["status"] == "SUCCESS", dagster.errors(etl["runId"])
    on_pair = {"dagster/partition": "EURUSD"}
    features = dagster.wait(dagster.launch("features_job", on_pair), timeout=300)
    assert features["status"] == "SUCCESS", dagster.errors(features["runId"])
    kinds = [e["__typename"] for e in dagster.events(etl["runId"])]
    assert "RunEnqueuedEvent" in kinds and "RunStartingEvent" in kinds, kinds
    # The run executed in the code server's container: its compute logs are on the volume
    # the code server, webserver and daemon share.
    code = stack.services["dagster-code"]
    storage = next(v.split(":")[0] for v in code.volumes)
    assert any(Path(storage).rglob("*")), "no compute log on the shared storage volume"
    with psycopg.connect(stack.dbs.url("warehouse", "warehouse_role")) as conn:
        raw = conn.execute("SELECT count(*), min(date) FROM eur_usd_raw").fetchone()
        final = conn.execute("SELECT count(*) FROM eur_usd_final").fetchone()
    assert raw is not None and raw[0] > 200 and raw[1] >= START, raw
    assert final is not None and final[0] > 150, final

    # The Kubernetes readiness probe's command (deploy/k8s/model-service.yaml), from inside
    # the model service's container: not ready while there is no champion.
    model = stack.services["model-service"]
    probe = ["python", "/opt/fx/healthcheck.py", "--path=/ready", *model.command]
    assert model.exec(probe).returncode == 1

    training = dagster.wait(dagster.launch("training_job", on_pair), timeout=900)
    assert training["status"] == "SUCCESS", dagster.errors(training["runId"])
    where = f"{stack.url(5000)}/api/2.0/mlflow/registered-models/alias"
    params = {"name": "eur_usd_direction", "alias": "champion"}
    # MLflow authenticates: nothing without credentials, a read with the service's.
    assert httpx.get(where, params=params, timeout=30).status_code == 401
    alias = httpx.get(where, params=params, auth=stack.mlflow_reader, timeout=30)
    assert alias.status_code == 200, alias.text
    version = str(alias.json()["model_version"]["version"])
    # The model went through the MLflow server into the S3 bucket, as compose stores it.
    objects = stack.s3.list_objects_v2(Bucket=stack.bucket, Prefix="artifacts/")  # type: ignore[attr-defined]
    assert objects.get("KeyCount", 0) > 0, objects
    auth = {"Authorization": f"Bearer {stack.token}"}
    deadline = time.monotonic() + 120
    ready = None
    while time.monotonic() < deadline:
        ready = httpx.get(f"{stack.url(8000)}/ready", headers=auth, timeout=30)
        if ready.status_code == 200 and str(ready.json().get("model_version")) == version:
            break
        time.sleep(2)
    else:
        raise AssertionError(f"the model service never served champion {version}: {ready}")
    done = model.exec(probe)
    assert done.returncode == 0, done.stderr


def test_the_compose_prometheus_scrapes_the_model_service(stack: Stack, tmp_path: Path) -> None:
    """Debian's real Prometheus, on deploy/prometheus/ as compose mounts it, scrapes /metrics."""
    import subprocess

    import yaml

    prometheus = shutil.which("prometheus")
    if prometheus is None:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus is not installed (.ci/run installs Debian's package)")
        pytest.skip("prometheus not installed (apt-get install prometheus)")
    config = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    # The compose names, translated to this machine's: the service's port and the rules file.
    (job,) = config["scrape_configs"]
    assert job["static_configs"][0]["targets"] == ["model-service:8000"]
    job["static_configs"][0]["targets"] = [stack.url(8000).removeprefix("http://")]
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(ROOT / "deploy" / "prometheus" / "alerts.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    # A few requests first, so the counters have something to count.
    for _ in range(5):
        httpx.get(f"{stack.url(8000)}/health", timeout=10)
    port = free_port()
    proc = subprocess.Popen(
        [
            prometheus,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 90
        up, health = None, None
        while time.monotonic() < deadline:
            try:
                up = httpx.get(f"{api}/query", params={"query": 'up{job="model-service"}'})
                health = httpx.get(
                    f"{api}/query", params={"query": 'sum(fx_http_requests_total{route="/health"})'}
                )
            except httpx.TransportError:
                time.sleep(1)
                continue
            # Until its TSDB is open, Prometheus answers 503 "Service Unavailable" in plain text.
            if up.status_code != 200 or health.status_code != 200:
                time.sleep(1)
                continue
            if up.json()["data"]["result"] and health.json()["data"]["result"]:
                break
            time.sleep(1)
        else:
            raise AssertionError(f"Prometheus never scraped the model service: {up and up.text}")
        assert up.json()["data"]["result"][0]["value"][1] == "1"
        assert float(health.json()["data"]["result"][0]["value"][1]) >= 5
        # A rule's health is "unknown" until its first evaluation.
        while True:
            rules = httpx.get(f"{api}/rules").json()["data"]["groups"][0]["rules"]
            if all(r["health"] == "ok" for r in rules) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert {r["name"] for r in rules} == {"ModelServiceDown", "ModelServiceP99LatencyHigh"}
        assert all(r["health"] == "ok" for r in rules), rules
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_no_service_writes_to_its_read_only_root(stack: Stack) -> None:
    """Compose gives every container a read-only root (`read_only: true`) with its volumes
    and tmpfs mounts the only writable places. Last in this module, after the services have
    started, answered, run the ETL and training and served a champion: nothing any of them
    did wrote to its root, so none of it would have failed on a read-only one
    (tests/deploy/test_compose_hardening.py checks that compose sets it for each)."""
    writes = {name: s.root_writes() for name, s in stack.services.items()}
    assert not any(writes.values()), {n: w[:10] for n, w in writes.items() if w}
    # The check sees a write: a file the service's user may write on a writable root.
    service = stack.services["model-service"]
    done = service.exec(["sh", "-c", "echo x > /var/tmp/fx-probe"])
    assert done.returncode == 0, done.stderr
    assert "/var/tmp/fx-probe" in service.root_writes()  # and its folder, copied up
