"""Identities on the deployment's MLflow server (``mlflow server --app-name basic-auth``).

Dagster-free. MLflow's own authentication knows users and per-resource grants; this
module makes the platform's three users and their grants, idempotently, through the
server's REST API as its admin (``fx mlflow-users``, compose's ``mlflow-init``):

- ``fx-training`` (the code location: training, promotion, the backtest's runs) may EDIT
  the experiment and the registered model: runs, artifacts, versions, tags, aliases;
- ``fx-service`` and ``fx-dashboard`` may READ them, nothing else.

The server's ``default_permission`` is ``NO_PERMISSIONS`` (deploy/mlflow/basic_auth.ini),
so a user is granted exactly what is listed here. Any signed-in user may still create a
new experiment or registered model of its own (MLflow gates creation by workspace, and
workspaces are off), so the experiment and the registered model are created here, by the
admin, before any client starts: a reader can never own a name the platform uses.

Each run sets every password again (a rotation is: change the secret, run it again) and
moves a grant that differs to the level listed here. The embedded default (a SQLite
store, no server) has no users and never comes here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import SecretStr

from fx_assets.core.domain import EXPERIMENT_NAME, MODEL_NAME
from fx_assets.core.pairs import model_name
from fx_assets.core.settings import ConfigError, Settings

TRAINING_USER = "fx-training"
SERVICE_USER = "fx-service"
DASHBOARD_USER = "fx-dashboard"
# MLflow refuses shorter passwords (mlflow.utils.validation._validate_password).
MIN_PASSWORD_LENGTH = 12
TIMEOUT_S = 30.0

Permission = Literal["READ", "EDIT"]


class MlflowAuthError(RuntimeError):
    """The identities cannot be provisioned; the one-line message says what to fix."""


@dataclass(frozen=True)
class Identity:
    username: str
    password: SecretStr
    permission: Permission
    # The environment variable holding the password, named in errors instead of the value.
    variable: str


def identities(settings: Settings) -> list[Identity]:
    """The platform's users with their passwords from the settings; every one is required."""
    wanted: list[tuple[str, str, Permission]] = [
        (TRAINING_USER, "mlflow_training_password", "EDIT"),
        (SERVICE_USER, "mlflow_service_password", "READ"),
        (DASHBOARD_USER, "mlflow_dashboard_password", "READ"),
    ]
    out = []
    for username, field, permission in wanted:
        variable = f"FX_{field.upper()}"
        secret: SecretStr | None = getattr(settings, field)
        if secret is None or len(secret.get_secret_value()) < MIN_PASSWORD_LENGTH:
            raise ConfigError(f"{variable}: set it to {MIN_PASSWORD_LENGTH}+ characters")
        _not_a_placeholder(variable, secret)
        out.append(Identity(username, secret, permission, variable))
    return out


def admin_credentials(settings: Settings) -> tuple[str, SecretStr]:
    if settings.mlflow_auth_admin_password is None:
        raise ConfigError("MLFLOW_AUTH_ADMIN_PASSWORD: set it (the MLflow server's admin)")
    _not_a_placeholder("MLFLOW_AUTH_ADMIN_PASSWORD", settings.mlflow_auth_admin_password)
    return settings.mlflow_auth_admin_username, settings.mlflow_auth_admin_password


def _not_a_placeholder(variable: str, secret: SecretStr) -> None:
    # .env.example's values are public: a stack started with one of them is refused.
    if secret.get_secret_value().startswith("change-me"):
        raise ConfigError(f"{variable}: replace the .env.example placeholder with a secret")


class _Api:
    """The server's REST API as one user; an error is one line without the password."""

    def __init__(self, url: str, username: str, password: SecretStr) -> None:
        import requests

        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.auth = (username, password.get_secret_value())
        self.username = username

    def call(
        self, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any
    ) -> dict[str, Any] | None:
        import requests

        try:
            resp = self.session.request(method, self.url + path, timeout=TIMEOUT_S, **kwargs)
        except requests.RequestException as exc:
            raise MlflowAuthError(
                f"cannot reach the MLflow server at {self.url}: {type(exc).__name__}"
            ) from None
        if resp.status_code == 401:
            raise MlflowAuthError(
                f"the MLflow server at {self.url} refused {self.username!r}: check "
                "MLFLOW_AUTH_ADMIN_USERNAME and MLFLOW_AUTH_ADMIN_PASSWORD (the password the "
                "server's admin was created with)"
            )
        if resp.status_code == 404 and missing_ok:
            return None
        if resp.status_code == 404 and "/users/" in path:
            raise MlflowAuthError(
                f"{self.url} has no user API: start it with `mlflow server --app-name basic-auth`"
            )
        if not resp.ok:
            try:
                message = resp.json().get("message", "")
            except ValueError:
                message = resp.text[:200]
            first = str(message).strip().splitlines()[0] if str(message).strip() else ""
            raise MlflowAuthError(f"{method} {path}: HTTP {resp.status_code} {first}".rstrip())
        return resp.json() if resp.content else {}


def _ensure_user(api: _Api, who: Identity) -> str:
    found = api.call(
        "GET", "/api/2.0/mlflow/users/get", params={"username": who.username}, missing_ok=True
    )
    password = who.password.get_secret_value()
    if found is None:
        api.call(
            "POST",
            "/api/2.0/mlflow/users/create",
            json={"username": who.username, "password": password},
        )
        return "created"
    # The admin sets it again: a changed secret takes effect, an unchanged one is harmless.
    api.call(
        "PATCH",
        "/api/2.0/mlflow/users/update-password",
        json={"username": who.username, "password": password},
    )
    return "password set"


def _ensure_experiment(api: _Api, name: str) -> str:
    found = api.call(
        "GET",
        "/api/2.0/mlflow/experiments/get-by-name",
        params={"experiment_name": name},
        missing_ok=True,
    )
    if found is not None:
        return str(found["experiment"]["experiment_id"])
    made = api.call("POST", "/api/2.0/mlflow/experiments/create", json={"name": name})
    assert made is not None
    return str(made["experiment_id"])


def _ensure_model(api: _Api, name: str) -> None:
    found = api.call(
        "GET", "/api/2.0/mlflow/registered-models/get", params={"name": name}, missing_ok=True
    )
    if found is None:
        api.call("POST", "/api/2.0/mlflow/registered-models/create", json={"name": name})


def _grant(api: _Api, username: str, resource_type: str, resource_id: str, level: str) -> str:
    key = {"username": username, "resource_type": resource_type, "resource_id": resource_id}
    now = api.call("GET", "/api/3.0/mlflow/users/permissions/get", params=key)
    if now is not None and now.get("permission") == level:
        return "kept"
    # One grant per user and resource: a different level is revoked, then granted anew.
    api.call("POST", "/api/3.0/mlflow/users/permissions/revoke", json=key, missing_ok=True)
    api.call("POST", "/api/3.0/mlflow/users/permissions/grant", json={**key, "permission": level})
    return "granted"


def book_models(settings: Settings) -> list[str]:
    """The registered model of every pair of FX_PAIRS: each identity is granted on each."""
    return [model_name(pair) for pair in settings.book]


def provision(
    url: str,
    admin: tuple[str, SecretStr],
    users: Sequence[Identity],
    experiment: str = EXPERIMENT_NAME,
    models: Sequence[str] = (MODEL_NAME,),
) -> list[str]:
    """Make the users, the experiment, the registered models and the grants; one line each."""
    api = _Api(url, *admin)
    lines = [f"user {who.username}: {_ensure_user(api, who)}" for who in users]
    experiment_id = _ensure_experiment(api, experiment)
    for name in models:
        _ensure_model(api, name)
    for who in users:
        outcome = _grant(api, who.username, "experiment", experiment_id, who.permission)
        lines.append(f"{who.username}: {who.permission} on experiment {experiment} ({outcome})")
        for name in models:
            outcome = _grant(api, who.username, "registered_model", name, who.permission)
            lines.append(f"{who.username}: {who.permission} on model {name} ({outcome})")
    return lines
