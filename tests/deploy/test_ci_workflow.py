""".github/workflows/ci.yml: valid against the GitHub workflow schema that
check-jsonschema ships, running the steps of .ci/run, and proving the image with Docker:
built with a layer cache, `docker compose up --wait`, one request to each service."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT
from tests.support.compose import services

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


def workflow() -> dict[str, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def runs(job: str) -> str:
    return "\n".join(step.get("run", "") for step in workflow()["jobs"][job]["steps"])


def uses(job: str) -> dict[str, dict[str, Any]]:
    return {
        step["uses"].split("@")[0]: step.get("with", {})
        for step in workflow()["jobs"][job]["steps"]
        if "uses" in step
    }


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert exe, "check-jsonschema is a dev dependency"
    cmd = [exe, "--builtin-schema", "vendor.github-workflows", str(path)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_workflow_matches_the_github_workflow_schema(tmp_path: Path) -> None:
    ok = check_jsonschema(WORKFLOW)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # The schema catches what GitHub would reject: a job without runs-on.
    broken = workflow()
    # PyYAML reads the key `on` as YAML 1.1's true: give it its name back.
    broken["on"] = broken.pop(True)
    unchanged = tmp_path / "same.yml"
    unchanged.write_text(yaml.safe_dump(broken))
    assert check_jsonschema(unchanged).returncode == 0
    del broken["jobs"]["lint"]["runs-on"]
    bad = tmp_path / "ci.yml"
    bad.write_text(yaml.safe_dump(broken))
    assert check_jsonschema(bad).returncode != 0


def test_workflow_runs_the_steps_of_ci_run() -> None:
    ci_run = (ROOT / ".ci" / "run").read_text()
    for step in ("ruff check .", "ruff format --check ."):
        assert step in ci_run and step in runs("lint"), step
    for step in ("lint-imports", "dg check defs", "dg list defs"):
        assert step in ci_run and step in runs("lint"), step
    assert "pytest" in runs("tests") and "pytest -m fullstack" in runs("fullstack")
    # Between them the two test jobs select every test but the buildah one, which the
    # image job replaces with Docker itself; the distributed one runs where RabbitMQ
    # listens on loopback, as under .ci/run.
    assert '-m "not fullstack and not container and not distributed"' in runs("tests")
    assert "pytest -m distributed" in runs("fullstack") and "rabbitmq-server" in runs("fullstack")
    assert "rabbitmq-server" in ci_run
    tests = workflow()["jobs"]["tests"]
    assert tests["services"]["postgres"]["image"].startswith("postgres:")
    assert "FX_TEST_POSTGRES_URL" in tests["env"]
    assert "chromium chromium-driver" in runs("tests")  # the browser tests
    assert workflow()["env"]["CI"] == "true"  # a missing server or browser fails
    for job in ("tests", "fullstack"):
        (cache,) = [w for u, w in uses(job).items() if u == "actions/cache"]
        assert "pyproject.toml" in cache["key"] and cache["path"] == "~/.cache/pip"
    assert uses("lint")["actions/setup-python"]["cache"] == "pip"


def test_image_job_builds_with_a_layer_cache_and_waits_for_every_healthcheck() -> None:
    build = uses("image")["docker/build-push-action"]
    assert build["load"] is True and build["cache-from"] == "type=gha"
    assert build["cache-to"].startswith("type=gha")
    script = runs("image")
    assert "docker compose up --detach --no-build --wait" in script
    assert f"FX_IMAGE={build['tags']}" in script  # compose runs the image just built
    assert "docker compose down --volumes" in script
    # One smoke request to each Python service of the compose file: through the proxy's
    # port that forwards to it (deploy/caddy/Caddyfile), else inside its container.
    caddyfile = (ROOT / "deploy" / "caddy" / "Caddyfile").read_text()
    behind_proxy = {
        upstream: port
        for port, upstream in re.findall(
            r"http://:\{\$FX_PROXY_\w+_PORT:(\d+)\}.*?"
            r"reverse_proxy \{\$FX_PROXY_\w+_UPSTREAM:([\w-]+):",
            caddyfile,
            flags=re.S,
        )
    }
    assert len(behind_proxy) == 6, behind_proxy
    for name, spec in services().items():
        if not spec.get("build") or spec.get("restart") == "no":
            continue
        if name in behind_proxy:
            assert f"http://127.0.0.1:{behind_proxy[name]}/" in script, name
        else:
            assert f"docker compose exec -T {name} " in script, name


@pytest.mark.parametrize("job", ["lint", "tests", "fullstack", "image"])
def test_every_job_has_a_timeout(job: str) -> None:
    assert 0 < workflow()["jobs"][job]["timeout-minutes"] <= 60
