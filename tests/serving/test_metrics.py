"""/metrics of the model service: a real uvicorn process with two workers, and reloads."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fx_serving.schemas import EXAMPLE_ROW
from tests.support.champions import (
    FX_VARS,
    World,
    build_world,
    free_port,
    home_env,
    mlflow_db_template,  # noqa: F401  (fixture)
    stop_process,
    use_home,
)

TOKEN = "api-test-token-0123456789abcdefghij"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
REQUESTS = 40


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, mlflow_db_template: Path) -> Iterator[World]:  # noqa: F811
    home = tmp_path_factory.mktemp("metrics") / "fxhome"
    with use_home(home):
        yield build_world(home, mlflow_db_template, predictions=False)


@pytest.fixture(scope="module")
def two_workers(world: World) -> Iterator[tuple[str, Path]]:
    """``uvicorn --workers 2`` with no PROMETHEUS_MULTIPROC_DIR, as the compose service runs,
    and an API token (which /metrics does not ask for)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in FX_VARS}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= home_env(world.home) | {"FX_API_TOKEN": TOKEN}
    command = [sys.executable, "-m", "uvicorn", "fx_serving.app:app", "--workers", "2"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    log = world.home / "uvicorn-workers.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    folder = Path(tempfile.gettempdir()) / f"fx-prometheus-{proc.pid}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                ready = httpx.get(f"{url}/ready", headers=AUTH, timeout=1)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn workers not ready: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        # Both workers must have loaded the champion before the figures below hold.
        while len(list(folder.glob("gauge_livemax_*.db"))) < 2:
            if time.monotonic() > deadline:
                raise RuntimeError(f"second worker not up: {log.read_text()[-2000:]}")
            time.sleep(0.3)
        yield url, folder
    finally:
        stop_process(proc)
        shutil.rmtree(folder, ignore_errors=True)


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: dict, name: str, **labels: str) -> float:  # type: ignore[type-arg]
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_add_up_over_two_workers(two_workers: tuple[str, Path], world: World) -> None:
    url, folder = two_workers
    for _ in range(REQUESTS):
        # A new connection each time, so the kernel spreads them over both workers.
        with httpx.Client(base_url=url, headers=AUTH, timeout=10) as http:
            assert (
                http.post("/predict", json={"rows": [EXAMPLE_ROW, EXAMPLE_ROW]}).status_code == 200
            )
    assert httpx.get(f"{url}/no-such-route").status_code == 404
    writers = {p.name.rsplit("_", 1)[-1] for p in folder.glob("counter_*.db")}
    assert len(writers) == 2, "both workers should have counted requests"

    for _ in range(6):  # whichever worker answers the scrape, the totals are the same
        response = httpx.get(f"{url}/metrics", timeout=10)  # no token: open like /health
        assert response.status_code == 200
        s = _samples(response.text)
        predict = {"route": "/predict", "method": "POST", "status": "200"}
        # The pair is a label of the count (not of the latency: fx_serving.metrics says why).
        assert _value(s, "fx_http_requests_total", pair="EURUSD", **predict) == REQUESTS
        assert _value(s, "fx_http_request_duration_seconds_count", **predict) == REQUESTS
        assert (
            _value(s, "fx_http_request_duration_seconds_bucket", le="+Inf", **predict) == REQUESTS
        )
        assert 0 < _value(s, "fx_http_request_duration_seconds_sum", **predict) < REQUESTS
        unknown = {"route": "unmatched", "method": "GET", "status": "404"}
        assert _value(s, "fx_http_requests_total", pair="", **unknown) == 1
        ups = _value(s, "fx_predictions_total", pair="EURUSD", direction="up")
        downs = _value(s, "fx_predictions_total", pair="EURUSD", direction="down")
        assert ups + downs == 2 * REQUESTS and ups * downs == 0  # one row, sent 80 times
        # Each worker loaded it once.
        assert _value(s, "fx_champion_reloads_total", pair="EURUSD") == 2
        version = {"pair": "EURUSD", "model_name": "eur_usd_direction", "version": world.version}
        assert _value(s, "fx_champion_version_info", **version) == 1


def test_metrics_are_open_while_the_api_needs_its_token(two_workers: tuple[str, Path]) -> None:
    url, _ = two_workers
    assert httpx.get(f"{url}/metrics").status_code == 200
    assert httpx.get(f"{url}/model").status_code == 401


def test_reload_failures_and_swaps_are_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from prometheus_client import REGISTRY

    from fx_assets.core.readmodel.registry import RegistryReader
    from fx_serving.holder import ChampionHolder

    # A real reader on a tracking server that does not answer (a closed port).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    gbp = {"pair": "GBPUSD"}
    before = REGISTRY.get_sample_value("fx_champion_reload_failures_total", gbp) or 0.0
    h = ChampionHolder(RegistryReader(f"http://127.0.0.1:{port}"), "GBPUSD")
    assert h.refresh() is False
    assert REGISTRY.get_sample_value("fx_champion_reload_failures_total", gbp) == before + 1
    assert h.champion is None and "registry" in h.problem


def test_metrics_of_an_in_process_app() -> None:
    from fastapi.testclient import TestClient

    from fx_serving.app import create_app

    client = TestClient(create_app())  # no lifespan: no warehouse, no champion
    client.get("/health")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    health = 'fx_http_requests_total{method="GET",pair="",route="/health",status="200"}'
    assert health in response.text


def test_metrics_token_when_set() -> None:
    from fastapi.testclient import TestClient

    from fx_serving.app import create_app

    app = create_app()
    app.state.metrics_token = "scrape-token-1234"  # what the lifespan sets from FX_METRICS_TOKEN
    client = TestClient(app)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-1234"})
    assert scraped.status_code == 200 and "fx_http_requests_total" in scraped.text
    assert client.get("/health").status_code == 200


def test_fx_up_says_where_metrics_are() -> None:
    import argparse

    from fx_assets.cli.up import configure, metrics_url

    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(["--host", "0.0.0.0", "--api-port", "18000"])
    assert metrics_url(args) == "http://127.0.0.1:18000/metrics"
