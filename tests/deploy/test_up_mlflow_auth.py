"""``fx up`` with MLflow's authentication (MLFLOW_AUTH_ADMIN_PASSWORD set): the server
runs ``--app-name basic-auth`` and gets its users; each process sees only its identity.
Without the admin password nothing changes (the open development stack)."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest
import requests

from fx_assets.cli.up_auth import process_env, server_env
from fx_assets.core.domain import MODEL_NAME
from fx_assets.core.settings import ConfigError, load_settings
from tests.support.fullstack import ROOT, Tracked, free_port

SECRETS = {
    "MLFLOW_AUTH_ADMIN_PASSWORD": "admin-" + uuid.uuid4().hex,
    "FX_MLFLOW_TRAINING_PASSWORD": "training-" + uuid.uuid4().hex,
    "FX_MLFLOW_SERVICE_PASSWORD": "service-" + uuid.uuid4().hex,
    "FX_MLFLOW_DASHBOARD_PASSWORD": "dashboard-" + uuid.uuid4().hex,
}


def test_without_the_admin_password_fx_up_is_unchanged(fx_home: Path) -> None:
    settings = load_settings()
    assert server_env(settings, ROOT / "deploy") == {
        "FX_UP_MLFLOW_APP": "",
        "FX_UP_MLFLOW_USERS_READY": "",
    }
    env = {"PATH": "/bin", "MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"}
    assert process_env("model-service", env, settings) == env


def test_each_process_sees_its_own_identity_and_no_other_secret(
    fx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    env = {**os.environ, **server_env(settings, ROOT / "deploy")}
    assert env["FX_UP_MLFLOW_APP"] == "--app-name=basic-auth"
    expected = {
        "dagster-code": ("fx-training", SECRETS["FX_MLFLOW_TRAINING_PASSWORD"]),
        "model-service": ("fx-service", SECRETS["FX_MLFLOW_SERVICE_PASSWORD"]),
        "dashboard": ("fx-dashboard", SECRETS["FX_MLFLOW_DASHBOARD_PASSWORD"]),
    }
    for name in (
        "dagster-code",
        "dagster-webserver",
        "dagster-daemon",
        "model-service",
        "dashboard",
    ):
        own = process_env(name, env, settings)
        identity = (own.get("MLFLOW_TRACKING_USERNAME"), own.get("MLFLOW_TRACKING_PASSWORD"))
        assert identity == expected.get(name, (None, None)), name
        others = set(SECRETS.values()) - {identity[1]}
        assert not others & set(own.values()), f"{name} sees another identity's secret"
    server = process_env("mlflow", env, settings)
    assert server["MLFLOW_AUTH_ADMIN_PASSWORD"] == SECRETS["MLFLOW_AUTH_ADMIN_PASSWORD"]
    assert "MLFLOW_TRACKING_PASSWORD" not in server


def test_a_missing_identity_password_stops_fx_up_before_anything_starts(
    fx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_AUTH_ADMIN_PASSWORD", SECRETS["MLFLOW_AUTH_ADMIN_PASSWORD"])
    with pytest.raises(ConfigError, match="FX_MLFLOW_TRAINING_PASSWORD"):
        server_env(load_settings(), ROOT / "deploy")


def test_fx_up_runs_mlflow_with_its_users(fx_home: Path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FX_", "DAGSTER_", "MLFLOW_", "TWELVEDATA_"))
    }
    env |= SECRETS | {"FX_HOME": str(fx_home)}
    cmd = [sys.executable, "-m", "fx_assets.cli.main", "up", "mlflow", f"--mlflow-port={port}"]
    up = Tracked.start(cmd, env, fx_home / "up.log")
    try:
        up.wait_for_line("fx-dashboard: READ on model", timeout=300)
        assert (fx_home / "mlflow-users.ready").exists()
        url = f"http://127.0.0.1:{port}/api/2.0/mlflow/registered-models/get"
        params = {"name": MODEL_NAME}
        assert requests.get(url, params=params, timeout=30).status_code == 401
        reader = ("fx-service", SECRETS["FX_MLFLOW_SERVICE_PASSWORD"])
        assert requests.get(url, params=params, auth=reader, timeout=30).status_code == 200
        for secret in SECRETS.values():
            assert secret not in up.text()
    finally:
        up.stop()


def test_the_env_example_placeholders_are_refused(
    fx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in SECRETS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("FX_MLFLOW_SERVICE_PASSWORD", "change-me-mlflow-service")
    with pytest.raises(ConfigError, match="FX_MLFLOW_SERVICE_PASSWORD: replace"):
        server_env(load_settings(), ROOT / "deploy")
