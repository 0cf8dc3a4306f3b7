"""``fx mlflow-users``: the platform's users and grants on the deployment's MLflow server.

Run once after the server (``mlflow server --app-name basic-auth``) first starts, and
again after a password changes or a grant must be restored; compose runs it as the
one-shot ``mlflow-init``. See ``fx_assets.core.models.auth`` for who may do what.
"""

from __future__ import annotations

import argparse

from fx_assets.cli.errors import CliError
from fx_assets.core.settings import load_settings


def cmd_mlflow_users(args: argparse.Namespace) -> int:
    from fx_assets.core.models.auth import (
        MlflowAuthError,
        admin_credentials,
        book_models,
        identities,
        provision,
    )

    settings = load_settings()
    url = settings.mlflow_tracking_uri or ""
    if not url.startswith(("http://", "https://")):
        raise CliError(
            "MLFLOW_TRACKING_URI must be the MLflow server's http(s) address; "
            "the embedded SQLite store has no users"
        )
    try:
        lines = provision(
            url, admin_credentials(settings), identities(settings), models=book_models(settings)
        )
    except MlflowAuthError as exc:
        raise CliError(str(exc)) from None
    for line in lines:
        print(f"fx mlflow-users: {line}")
    return 0
