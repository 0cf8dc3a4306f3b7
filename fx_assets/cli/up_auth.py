"""``fx up`` with MLflow's authentication, as the containers run it.

Only when ``MLFLOW_AUTH_ADMIN_PASSWORD`` is set (without it ``fx up`` stays the open
development stack on 127.0.0.1 it was): the MLflow server runs ``--app-name basic-auth``
with the policy of deploy/mlflow/basic_auth.ini and its users in
``$FX_HOME/mlflow-auth.db``; once it answers, ``fx mlflow-users``' provisioning makes the
identities, and the processes that use MLflow start only then, each signed in as its own
(the code server as ``fx-training``, the model service and the dashboard as readers).
No process but the MLflow server sees the admin password, and none sees another's.
"""

from __future__ import annotations

import configparser
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from fx_assets.core.models.auth import (
    DASHBOARD_USER,
    SERVICE_USER,
    TRAINING_USER,
    Identity,
    MlflowAuthError,
    admin_credentials,
    book_models,
    identities,
    provision,
)
from fx_assets.core.settings import Settings

# Which identity each process of deploy/Procfile signs in as; the others get none.
PROCESS_IDENTITY = {
    "dagster-code": TRAINING_USER,
    "model-service": SERVICE_USER,
    "dashboard": DASHBOARD_USER,
}
# Touched once the identities exist; the Procfile's MLflow clients wait for it.
READY_VARIABLE = "FX_UP_MLFLOW_USERS_READY"
SECRET_VARIABLES = (
    "MLFLOW_AUTH_ADMIN_PASSWORD",
    "FX_MLFLOW_TRAINING_PASSWORD",
    "FX_MLFLOW_SERVICE_PASSWORD",
    "FX_MLFLOW_DASHBOARD_PASSWORD",
)


def enabled(settings: Settings) -> bool:
    return settings.mlflow_auth_admin_password is not None


def server_env(settings: Settings, deploy: Path) -> dict[str, str]:
    """What the Procfile's MLflow line and its clients read; empty values when open."""
    if not enabled(settings):
        return {"FX_UP_MLFLOW_APP": "", READY_VARIABLE: ""}
    identities(settings)  # every password set, before anything starts
    config = configparser.ConfigParser()
    config.read(deploy / "mlflow" / "basic_auth.ini")
    config["mlflow"]["database_uri"] = f"sqlite:///{settings.home / 'mlflow-auth.db'}"
    ini = settings.home / "mlflow-auth.ini"
    with ini.open("w") as fh:
        config.write(fh)
    ready = settings.home / "mlflow-users.ready"
    ready.unlink(missing_ok=True)
    return {
        "FX_UP_MLFLOW_APP": "--app-name=basic-auth",
        "MLFLOW_AUTH_CONFIG_PATH": str(ini),
        # One server, one key: made per start unless given.
        "MLFLOW_FLASK_SERVER_SECRET_KEY": Settings.secret(settings.mlflow_flask_server_secret_key)
        or secrets.token_hex(24),
        READY_VARIABLE: str(ready),
    }


def process_env(name: str, env: Mapping[str, str], settings: Settings) -> dict[str, str]:
    """``env`` for one process: its own MLflow identity, no other secret of MLflow's."""
    if not enabled(settings):
        return dict(env)
    out = {k: v for k, v in env.items() if k not in SECRET_VARIABLES}
    out.pop("MLFLOW_TRACKING_USERNAME", None)
    out.pop("MLFLOW_TRACKING_PASSWORD", None)
    if name == "mlflow":
        out["MLFLOW_AUTH_ADMIN_PASSWORD"] = env["MLFLOW_AUTH_ADMIN_PASSWORD"]
    user = PROCESS_IDENTITY.get(name)
    if user is not None:
        (who,) = [i for i in identities(settings) if i.username == user]
        out["MLFLOW_TRACKING_USERNAME"] = who.username
        out["MLFLOW_TRACKING_PASSWORD"] = who.password.get_secret_value()
    return out


def provision_when_up(url: str, settings: Settings, ready: Path, echo=print) -> None:  # type: ignore[no-untyped-def]
    """Wait for the server, make the identities, then let the clients start."""
    users: list[Identity] = identities(settings)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                break
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    try:
        lines = provision(url, admin_credentials(settings), users, models=book_models(settings))
    except MlflowAuthError as exc:
        echo(f"fx up: mlflow-users: error: {exc}")
        return
    for line in lines:
        echo(f"fx up: mlflow-users: {line}")
    ready.touch()


def wait_ready(path: str, timeout: float = 300.0) -> int:
    """Block until the identities exist (0), or give up (1); no file named: at once."""
    deadline = time.monotonic() + timeout
    while path and not Path(path).exists():
        if time.monotonic() > deadline:
            print(f"fx up: MLflow's users not made after {timeout:.0f} s", flush=True)
            return 1
        time.sleep(0.5)
    return 0
