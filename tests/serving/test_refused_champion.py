"""A champion the safe loader refuses, in a real uvicorn process: the old one keeps serving.

The alias is moved to a version declaring pickle (its payload writes a marker file), then
to one whose skops file was changed after registration; each is refused within the
reload interval, counted by ``fx_champion_reload_failures_total``, and alerted once to
a real local webhook, while /predict keeps answering with the previous champion.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pytest_httpserver import HTTPServer

from fx_serving.schemas import EXAMPLE_ROW
from tests.support.champions import (
    CUTOFF,
    build_world,
    mlflow_db_template,  # noqa: F401  (fixture)
    promote,
    register_champion,
    use_home,
    uvicorn_process,
)
from tests.support.hostile_models import register_pickle_champion, tamper

TOKEN = "t" * 40
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _alerts(httpserver: HTTPServer, count: int) -> list[str]:
    """The texts posted to the webhook, once ``count`` arrived (30 s at most)."""
    deadline = time.monotonic() + 30
    while len(httpserver.log) < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return [request.get_json()["text"] for request, _ in httpserver.log]


def _failures(url: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    family = next(
        f for f in text_string_to_metric_families(text) if f.name == "fx_champion_reload_failures"
    )
    return sum(s.value for s in family.samples if s.name.endswith("_total"))


def _served_version(url: str) -> str:
    r = httpx.post(f"{url}/predict", json={"rows": [EXAMPLE_ROW]}, headers=AUTH, timeout=10)
    assert r.status_code == 200, r.text
    return str(r.json()["model_version"])


def test_a_refused_champion_leaves_the_old_one_serving_counted_and_alerted(
    tmp_path: Path,
    mlflow_db_template: Path,  # noqa: F811
    httpserver: HTTPServer,
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    home = tmp_path / "fxhome"
    marker = tmp_path / "pwned"
    env = {
        "FX_API_TOKEN": TOKEN,
        "FX_CHAMPION_RELOAD_SECONDS": "0.5",
        "FX_ALERT_WEBHOOK_URL": httpserver.url_for("/hook"),
    }
    with use_home(home):
        world = build_world(home, mlflow_db_template, predictions=False)
        with uvicorn_process(home, env) as url:
            assert _served_version(url) == world.version
            assert _failures(url) == 0

            bad = register_pickle_champion(marker)
            texts = _alerts(httpserver, 1)
            assert len(texts) == 1
            assert f"model version {bad} refused" in texts[0]
            assert "has no model.skops (only skops models load)" in texts[0]
            assert _served_version(url) == world.version
            assert _failures(url) == 1

            tampered = register_champion(world.final, CUTOFF, c=0.01, alias=False)
            tamper(tampered)
            promote(tampered)
            texts = _alerts(httpserver, 2)
            assert len(texts) == 2
            assert f"version {tampered} refused: model.skops does not match" in texts[1]
            assert _served_version(url) == world.version
            # Refused once each: not downloaded, counted and alerted again every interval.
            time.sleep(2)
            assert _failures(url) == 2
            assert len(httpserver.log) == 2
        log = (home / "uvicorn.log").read_text()
    assert not marker.exists()
    refusals = [line for line in log.splitlines() if "refused" in line]
    assert len(refusals) == 2 and "Traceback" not in log
