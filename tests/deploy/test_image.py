"""The Dockerfile's supply-chain and hygiene rules, and the image's HEALTHCHECK script,
checked without building (tests/deploy/test_container.py builds and runs the image)."""

from __future__ import annotations

import fnmatch
import importlib.util
import re
import subprocess
import sys
from types import ModuleType

import pytest
from pytest_httpserver import HTTPServer

from tests.support import ROOT
from tests.support.compose import services


def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("healthcheck", ROOT / "deploy/healthcheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dockerignored(path: str) -> bool:
    """Whether Docker leaves ``path`` out of the build context (last matching rule wins)."""
    ignored = False
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negate, rule = rule.startswith("!"), rule.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        pattern = rule.removeprefix("**/")
        if any(
            fnmatch.fnmatch(p, rule) or fnmatch.fnmatch(p.split("/")[-1], pattern) for p in prefixes
        ):
            ignored = not negate
    return ignored


@pytest.mark.parametrize(
    "path",
    [
        ".fx/warehouse.db",
        ".venv/bin/python",
        ".venv-ci/bin/python",
        "venv/x",
        "tests/test_x.py",
        ".env",
        ".git/HEAD",
        "fx_assets/__pycache__/cli.cpython-311.pyc",
        ".pytest_cache/v",
    ],
)
def test_dockerignore_keeps_local_state_tests_and_secrets_out(path: str) -> None:
    assert dockerignored(path), path


@pytest.mark.parametrize(
    "path",
    [
        "Dockerfile",
        "requirements.lock",
        "pyproject.toml",
        "README.md",
        "dagster.yaml",
        "fx_assets/cli.py",
        "fx_serving/app.py",
        "fx_dash/app.py",
        "deploy/healthcheck.py",
        "deploy/dagster/workspace.yaml",
        ".env.example",
    ],
)
def test_dockerignore_keeps_what_the_dockerfile_copies(path: str) -> None:
    assert not dockerignored(path), path


def test_dockerfile_hygiene() -> None:
    text = (ROOT / "Dockerfile").read_text()
    flat = text.replace("\\\n", " ")
    runtime = re.split(r"^FROM\s", flat, flags=re.M)[-1]
    # No compiler or build tool is installed in the final stage.
    assert not re.search(r"\b(gcc|g\+\+|build-essential|make|clang)\b", runtime)
    assert re.search(
        r"^HEALTHCHECK .*CMD \[\"python\", \"/opt/fx/healthcheck.py\"\]", runtime, re.M
    )
    assert re.search(r"^USER 10001:10001$", runtime, flags=re.M)  # numeric: runAsNonRoot
    # pip's configuration only as a build secret for the install step, never a layer.
    code = "\n".join(line for line in flat.splitlines() if not line.lstrip().startswith("#"))
    for mount in ("id=pip.conf,target=/etc/pip.conf", "id=pip-ca,target=/run/secrets/pip-ca.pem"):
        assert f"--mount=type=secret,{mount}" in code
        code = code.replace(f"--mount=type=secret,{mount}", "")
    assert "pip.conf" not in code and "pip-ca" not in code
    assert not re.search(r"^(COPY|ADD)\s.*pip", flat, flags=re.M)
    assert not re.search(r"^ARG\s+PIP_", flat, flags=re.M)
    # The digest is explained where it is set.
    head = text.split("ARG BASE_IMAGE=", 1)[0]
    assert "digest" in head and "imagetools inspect" in head


@pytest.mark.parametrize(
    "service",
    ["mlflow", "model-service", "dashboard", "dagster-webserver", "dagster-code", "dagster-daemon"],
)
def test_image_healthcheck_asks_what_the_compose_healthcheck_asks(service: str) -> None:
    spec = services()[service]
    target = healthcheck().check(spec["command"])
    compose_test = " ".join(spec["healthcheck"]["test"][1:])
    if isinstance(target, str):
        assert f"'{target}'" in compose_test, (target, compose_test)
    else:
        assert " ".join(target) in compose_test, (target, compose_test)


def test_image_healthcheck_follows_the_port_and_refuses_an_unknown_command() -> None:
    hc = healthcheck()
    assert hc.check(["uvicorn", "app", "--port=9999"]) == "http://localhost:9999/health"
    assert hc.check(["gunicorn", "x:server", "--bind=0.0.0.0:9998"]) == "http://localhost:9998/"
    assert hc.check(["--path=/ready", "uvicorn", "app"]) == "http://localhost:8000/ready"
    with pytest.raises(SystemExit):
        hc.check(["fx", "info"])


def test_image_healthcheck_sends_the_token_and_fails_on_an_error(httpserver: HTTPServer) -> None:
    port = httpserver.port
    httpserver.expect_request(
        "/ready", headers={"Authorization": "Bearer s3cret"}
    ).respond_with_json({})
    cmd = [
        sys.executable,
        str(ROOT / "deploy/healthcheck.py"),
        "--path=/ready",
        "uvicorn",
        f"--port={port}",
    ]
    ok = subprocess.run(cmd, env={"FX_API_TOKEN": "s3cret"}, capture_output=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    wrong = subprocess.run(cmd, env={"FX_API_TOKEN": "other"}, capture_output=True, timeout=30)
    assert wrong.returncode == 1
    assert b"s3cret" not in wrong.stderr and b"other" not in wrong.stderr
