"""The token policy, both ways, in real uvicorn processes: no token, no start.

Without ``FX_API_TOKEN`` (and without ``FX_API_ANONYMOUS=true``) or with one shorter
than 32 characters the service exits at start with one line naming the variable and
never printing the value; anonymous access starts with a loud warning; with a token,
the data routes need it while ``/health``, ``/metrics`` and the docs stay open.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.champions import (
    FX_VARS,
    free_port,
    home_env,
    mlflow_db_template,  # noqa: F401  (fixture)
    seed_home,
    uvicorn_process,
)

TOKEN = "access-test-token-0123456789abcdefghij"


@pytest.fixture
def home(tmp_path: Path, mlflow_db_template: Path) -> Path:  # noqa: F811
    home = tmp_path / "fxhome"
    seed_home(home, mlflow_db_template)
    return home


def _refused_start(home: Path, env: dict[str, str]) -> list[str]:
    """Start uvicorn expecting it to exit; its output lines."""
    full = {k: v for k, v in os.environ.items() if k not in FX_VARS} | home_env(home) | env
    command = [sys.executable, "-m", "uvicorn", "fx_serving.app:app"]
    command += ["--host", "127.0.0.1", "--port", str(free_port())]
    done = subprocess.run(command, env=full, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    return (done.stdout + done.stderr).splitlines()


def test_without_a_token_the_service_does_not_start(home: Path) -> None:
    lines = _refused_start(home, {})
    errors = [line for line in lines if "FX_API_TOKEN" in line]
    assert errors == [
        "ERROR:    FX_API_TOKEN is not set: the model service requires a bearer token of at"
        " least 32 characters (python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        " makes one), or FX_API_ANONYMOUS=true to serve everyone without one"
    ]
    assert not any("Traceback" in line for line in lines)


def test_a_short_token_is_refused_without_being_printed(home: Path) -> None:
    short = "only-31-characters-long-token!!"
    assert len(short) == 31
    lines = _refused_start(home, {"FX_API_TOKEN": short})
    assert [line for line in lines if "FX_API_TOKEN" in line] == [
        "ERROR:    FX_API_TOKEN is too short (31 characters): use at least 32"
        " (python -c 'import secrets; print(secrets.token_urlsafe(32))' makes one)"
    ]
    assert not any(short in line for line in lines)


def test_anonymous_access_must_be_asked_for_and_is_logged_loudly(home: Path) -> None:
    with uvicorn_process(home, {"FX_API_ANONYMOUS": "true"}) as url:
        assert httpx.get(f"{url}/model").status_code == 503  # open, no champion yet
    log = (home / "uvicorn.log").read_text()
    assert "FX_API_ANONYMOUS=true: the model service answers EVERY caller" in log


def test_with_a_token_data_needs_it_and_health_metrics_docs_do_not(home: Path) -> None:
    with uvicorn_process(home, {"FX_API_TOKEN": TOKEN}) as url:
        for path in ("/model", "/ready", "/forecast/latest", "/predictions", "/monitoring"):
            assert httpx.get(f"{url}{path}").status_code == 401, path
        auth = {"Authorization": f"Bearer {TOKEN}"}
        assert httpx.get(f"{url}/model", headers=auth).status_code == 503  # no champion
        for path in ("/health", "/metrics", "/docs", "/openapi.json"):
            assert httpx.get(f"{url}{path}").status_code == 200, path
    assert "FX_API_ANONYMOUS" not in (home / "uvicorn.log").read_text()
