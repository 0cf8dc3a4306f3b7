"""The authenticating proxy: Debian's real Caddy with the repo's deploy/caddy/Caddyfile.

Upstreams are set by the file's variables: a real read-only ``dagster-webserver`` (empty
workspace, temporary DAGSTER_HOME) behind both Dagster routes, and a local HTTP server
standing in for the dashboard and Prometheus. No credentials: 401; a viewer on an
operator's route: 401; the right ones: the Dagster UI answers its GraphQL API.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.support.fullstack import ROOT, Tracked, free_port

CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
OPERATOR = ("operator", "op-" + uuid.uuid4().hex)
VIEWER = ("viewer", "view-" + uuid.uuid4().hex)
ROUTES = ("DAGSTER", "DAGSTER_VIEW", "DASHBOARD", "PROMETHEUS", "MLFLOW", "API")


def caddy() -> str:
    found = shutil.which("caddy")
    if found is None:
        message = "caddy is not installed: apt-get install caddy"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (.ci/run installs it)")
        pytest.skip(message)
    return found


def bcrypt(password: str) -> str:
    done = subprocess.run(
        [caddy(), "hash-password", "--plaintext", password],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


@dataclass
class Proxy:
    ports: dict[str, int]
    upstream: HTTPServer

    def url(self, route: str, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.ports[route]}{path}"


def proxy_env(ports: dict[str, int], upstreams: dict[str, str], tmp: Path) -> dict[str, str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "FX_PROXY_OPERATOR_HASH": bcrypt(OPERATOR[1]),
        "FX_PROXY_VIEWER_HASH": bcrypt(VIEWER[1]),
    }
    for route in ROUTES:
        env[f"FX_PROXY_{route}_PORT"] = str(ports[route])
        env[f"FX_PROXY_{route}_UPSTREAM"] = upstreams[route]
    return env


def _echo(request: Request) -> Response:
    """The stand-in upstream: says whether the proxy's password reached it."""
    seen = {"authorization": request.headers.get("Authorization")}
    return Response(json.dumps(seen), content_type="application/json")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    caddy()
    tmp = tmp_path_factory.mktemp("proxy")
    home = tmp / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    dagster_port = free_port()
    webserver = Tracked.start(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "--read-only",
            "--empty-workspace",
            "--host=127.0.0.1",
            f"--port={dagster_port}",
        ],
        {"PATH": os.environ["PATH"], "HOME": str(tmp), "DAGSTER_HOME": str(home)},
        tmp / "webserver.log",
        cwd=tmp,
    )
    upstream = HTTPServer(host="127.0.0.1", port=free_port())
    upstream.expect_request("/").respond_with_handler(_echo)
    upstream.start()
    ports = {route: free_port() for route in ROUTES}
    stand_in = f"127.0.0.1:{upstream.port}"
    upstreams = {route: stand_in for route in ROUTES}
    upstreams["DAGSTER"] = upstreams["DAGSTER_VIEW"] = f"127.0.0.1:{dagster_port}"
    env = proxy_env(ports, upstreams, tmp)
    server = Tracked.start(
        [caddy(), "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env,
        tmp / "caddy.log",
        cwd=tmp,
    )
    try:
        server.wait_for_line("serving initial configuration", timeout=60)
        webserver.wait_for_line("Serving dagster-webserver", timeout=240)
        yield Proxy(ports, upstream)
    finally:
        server.stop()
        webserver.stop()
        upstream.clear()
        if upstream.is_running():
            upstream.stop()


def graphql(
    proxy: Proxy, route: str, query: str, auth: tuple[str, str] | None
) -> requests.Response:
    return requests.post(proxy.url(route, "/graphql"), json={"query": query}, auth=auth, timeout=60)


def test_no_credentials_401_on_every_ui(proxy: Proxy) -> None:
    for route in ("DAGSTER", "DAGSTER_VIEW", "DASHBOARD", "PROMETHEUS"):
        resp = requests.get(proxy.url(route), timeout=30)
        assert resp.status_code == 401, route
        assert resp.headers.get("WWW-Authenticate", "").startswith("Basic"), route
        wrong = requests.get(proxy.url(route), auth=(OPERATOR[0], "wrong"), timeout=30)
        assert wrong.status_code == 401, route


def test_operators_reach_the_dagster_ui(proxy: Proxy) -> None:
    resp = graphql(proxy, "DAGSTER", "{ version }", OPERATOR)
    assert resp.status_code == 200, resp.text
    assert resp.json()["data"]["version"], resp.text
    assert resp.headers.get("X-Frame-Options") == "DENY"


def test_viewers_get_the_read_only_ui_and_not_the_operators_routes(proxy: Proxy) -> None:
    assert graphql(proxy, "DAGSTER", "{ version }", VIEWER).status_code == 401
    assert requests.get(proxy.url("PROMETHEUS"), auth=VIEWER, timeout=30).status_code == 401
    resp = graphql(proxy, "DAGSTER_VIEW", "{ permissions { permission value } }", VIEWER)
    assert resp.status_code == 200, resp.text
    granted = {p["permission"]: p["value"] for p in resp.json()["data"]["permissions"]}
    assert granted["launch_pipeline_execution"] is False, granted


def test_the_upstream_never_sees_the_proxy_password(proxy: Proxy) -> None:
    resp = requests.get(proxy.url("DASHBOARD"), auth=VIEWER, timeout=30)
    assert resp.status_code == 200 and resp.json() == {"authorization": None}
    # MLflow and the model service check their own credentials: passed through unchanged.
    token = {"Authorization": "Bearer " + "t" * 32}
    assert requests.get(proxy.url("API"), headers=token, timeout=30).json() == {
        "authorization": token["Authorization"]
    }


def test_without_a_password_hash_caddy_refuses_to_start(tmp_path: Path) -> None:
    ports = {route: free_port() for route in ROUTES}
    env = proxy_env(ports, dict.fromkeys(ROUTES, "127.0.0.1:9"), tmp_path)
    del env["FX_PROXY_OPERATOR_HASH"]
    cmd = [caddy(), "adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "basicauth" in done.stderr, done.stderr
    # And with every hash set, Caddy's admin API (which could replace this file) is off.
    env["FX_PROXY_OPERATOR_HASH"] = bcrypt(OPERATOR[1])
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["admin"] == {"disabled": True}
