"""MLflow with identities: a real ``mlflow server --app-name basic-auth`` with the repo's
deploy/mlflow/basic_auth.ini, provisioned by ``fx mlflow-users``.

The auth database is PostgreSQL when FX_TEST_POSTGRES_URL is set (the ini as deployed,
reached with libpq's variables, as compose does), else SQLite in a temporary folder.
The training identity registers a version and moves ``@champion``; the service and
dashboard identities read it and are refused (403) every write; no credentials, 401.
"""

from __future__ import annotations

import configparser
import contextlib
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sqlalchemy.engine import make_url

from fx_assets.cli.main import main
from fx_assets.core.domain import EXPERIMENT_NAME, MODEL_NAME
from fx_assets.core.models.auth import DASHBOARD_USER, SERVICE_USER, TRAINING_USER
from tests.support.fullstack import ROOT, Tracked, free_port

ADMIN_PASSWORD = "admin-" + uuid.uuid4().hex
PASSWORDS = {
    TRAINING_USER: "training-" + uuid.uuid4().hex,
    SERVICE_USER: "service-" + uuid.uuid4().hex,
    DASHBOARD_USER: "dashboard-" + uuid.uuid4().hex,
}
VARIABLES = {
    TRAINING_USER: "FX_MLFLOW_TRAINING_PASSWORD",
    SERVICE_USER: "FX_MLFLOW_SERVICE_PASSWORD",
    DASHBOARD_USER: "FX_MLFLOW_DASHBOARD_PASSWORD",
}


@dataclass
class Server:
    url: str
    process: Tracked


@contextlib.contextmanager
def _auth_database(work: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """The ini the server reads, and the libpq variables its auth database needs."""
    server = os.environ.get("FX_TEST_POSTGRES_URL")
    ini = ROOT / "deploy" / "mlflow" / "basic_auth.ini"
    if not server:
        config = configparser.ConfigParser()
        config.read(ini)
        config["mlflow"]["database_uri"] = f"sqlite:///{work / 'auth.db'}"
        local = work / "basic_auth.ini"
        with local.open("w") as fh:
            config.write(fh)
        yield local, {}
        return
    url = make_url(server)
    name = f"fx_test_mlflow_auth_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    libpq = {
        "PGHOST": url.host or "127.0.0.1",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "postgres",
        "PGDATABASE": name,
    }
    if url.password:
        libpq["PGPASSWORD"] = str(url.password)
    try:
        yield ini, libpq  # the repo's file as it is deployed
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with tempfile.TemporaryDirectory(prefix="fx-mlflow-auth-") as tmp:
        work = Path(tmp)
        with _auth_database(work) as (ini, libpq):
            port = free_port()
            env = {
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                "HOME": str(work),
                "MLFLOW_AUTH_CONFIG_PATH": str(ini),
                "MLFLOW_AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "MLFLOW_FLASK_SERVER_SECRET_KEY": uuid.uuid4().hex,
                **libpq,
            }
            cmd = [
                "mlflow", "server", "--app-name", "basic-auth",
                "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                "--backend-store-uri", f"sqlite:///{work / 'mlflow.db'}",
                "--serve-artifacts", "--artifacts-destination", str(work / "artifacts"),
            ]  # fmt: skip
            process = Tracked.start(cmd, env, work / "mlflow.log")
            try:
                process.wait_for_line("Application startup complete", timeout=240)
                yield Server(f"http://127.0.0.1:{port}", process)
            finally:
                process.stop()


def provision(
    server: Server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], **over: str
) -> tuple[int, str, str]:
    """``fx mlflow-users`` against the server; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", over.pop("admin", ADMIN_PASSWORD))
    for user, variable in VARIABLES.items():
        monkeypatch.setenv(variable, over.get(user, PASSWORDS[user]))
    capsys.readouterr()
    code = main(["mlflow-users"])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def provisioned(server: Server) -> Server:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FX_HOME", tempfile.mkdtemp(prefix="fx-home-"))
        mp.setenv("MLFLOW_TRACKING_URI", server.url)
        mp.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", ADMIN_PASSWORD)
        for user, variable in VARIABLES.items():
            mp.setenv(variable, PASSWORDS[user])
        assert main(["mlflow-users"]) == 0
    return server


def as_user(monkeypatch: pytest.MonkeyPatch, server: Server, user: str) -> MlflowClient:
    """A client that signs in the way the services do: MLflow's own variables."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", PASSWORDS[user])
    return MlflowClient(tracking_uri=server.url, registry_uri=server.url)


def refused(call) -> int:  # type: ignore[no-untyped-def]
    with pytest.raises(MlflowException) as err:
        call()
    return int(err.value.get_http_status_code())


def test_training_writes_and_the_readers_only_read(
    provisioned: Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fx_home: Path
) -> None:
    training = as_user(monkeypatch, provisioned, TRAINING_USER)
    experiment = training.get_experiment_by_name(EXPERIMENT_NAME)
    assert experiment is not None, "fx mlflow-users creates the experiment"
    run = training.create_run(experiment.experiment_id)
    (tmp_path / "model.skops").write_bytes(b"a model")
    training.log_artifact(run.info.run_id, str(tmp_path / "model.skops"), "model")
    training.set_terminated(run.info.run_id)
    source = f"runs:/{run.info.run_id}/model"
    version = training.create_model_version(MODEL_NAME, source, run.info.run_id).version
    training.set_registered_model_alias(MODEL_NAME, "champion", version)

    for reader in (SERVICE_USER, DASHBOARD_USER):
        client = as_user(monkeypatch, provisioned, reader)
        assert client.get_model_version_by_alias(MODEL_NAME, "champion").version == version
        local = client.download_artifacts(run.info.run_id, "model", str(tmp_path / reader))
        assert (Path(local) / "model.skops").read_bytes() == b"a model"
        assert refused(lambda c=client: c.create_model_version(MODEL_NAME, source)) == 403
        assert (
            refused(lambda c=client: c.set_registered_model_alias(MODEL_NAME, "champion", "1"))
            == 403
        )
        assert (
            refused(lambda c=client: c.set_model_version_tag(MODEL_NAME, version, "x", "y")) == 403
        )
        assert refused(lambda c=client: c.create_run(experiment.experiment_id)) == 403

    training = as_user(monkeypatch, provisioned, TRAINING_USER)
    assert training.get_model_version_by_alias(MODEL_NAME, "champion").version == version
    assert len(training.search_model_versions(f"name='{MODEL_NAME}'")) == 1


def test_without_credentials_or_with_wrong_ones_401(provisioned: Server) -> None:
    path = f"{provisioned.url}/api/2.0/mlflow/registered-models/get"
    assert requests.get(path, params={"name": MODEL_NAME}, timeout=30).status_code == 401
    wrong = (SERVICE_USER, "not-the-password")
    assert (
        requests.get(path, params={"name": MODEL_NAME}, auth=wrong, timeout=30).status_code == 401
    )
    # The health check stays open (compose's healthcheck and the proxy's upstream check).
    assert requests.get(f"{provisioned.url}/health", timeout=30).status_code == 200


def test_provisioning_again_keeps_grants_and_rotates_a_password(
    provisioned: Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fx_home: Path,
) -> None:
    rotated = "rotated-" + uuid.uuid4().hex
    code, out, _ = provision(provisioned, monkeypatch, capsys, **{SERVICE_USER: rotated})
    assert code == 0
    assert "(granted)" not in out and out.count("(kept)") == 6, out
    path = f"{provisioned.url}/api/2.0/mlflow/registered-models/get"
    old = (SERVICE_USER, PASSWORDS[SERVICE_USER])
    assert requests.get(path, params={"name": MODEL_NAME}, auth=old, timeout=30).status_code == 401
    new = (SERVICE_USER, rotated)
    assert requests.get(path, params={"name": MODEL_NAME}, auth=new, timeout=30).status_code == 200
    assert provision(provisioned, monkeypatch, capsys)[0] == 0  # back, for the other tests


def test_a_wrong_admin_password_is_one_line_without_it(
    provisioned: Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fx_home: Path,
) -> None:
    wrong = "wrong-" + uuid.uuid4().hex
    code, _, err = provision(provisioned, monkeypatch, capsys, admin=wrong)
    assert code == 1
    assert err.count("\n") == 1 and "refused 'admin'" in err, err
    assert wrong not in err and ADMIN_PASSWORD not in err
