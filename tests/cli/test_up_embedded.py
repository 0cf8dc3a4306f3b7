"""`fx up` with no PostgreSQL configured: the same services on the embedded defaults, and
a first start that fills itself.

The Dagster instance, the warehouse and the MLflow store are SQLite files under FX_HOME.
On the empty home the daemon's bootstrap sensor queues the history's backfill, the
training and the first forecast, one after the other, until the model service serves a
forecast, with no click; a second start on the same home launches nothing. Every process
is stopped by pid.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from fx_assets.core.bootstrap import bootstrap_status
from fx_assets.core.contracts import RAW
from fx_assets.core.ingestion.catalog import make_source
from fx_assets.core.settings import sqlite_url
from fx_assets.core.warehouse import Warehouse
from tests.support.dagster_api import Dagster
from tests.support.fullstack import start_fx_up, wait_fx_up_ready

pytestmark = [pytest.mark.fullstack, pytest.mark.timeout(600)]

# A short history and a small training keep the first start to a minute or two: the ECB
# rates to October 2026 leave 217 modelling rows for 60 test + 1 gap + 150 train rows.
START = date(2025, 10, 1)
ENV = {
    "FX_SOURCE": "ecb",
    "FX_START_DATE": START.isoformat(),
    "FX_TEST_DAYS": "60",
    "FX_CV_FOLDS": "2",
    "FX_TUNING_BUDGET": "2",
    "FX_CHAMPION_RELOAD_SECONDS": "2",
    "FX_API_TOKEN": "t" * 32,
}
AUTH = {"Authorization": f"Bearer {ENV['FX_API_TOKEN']}"}
TICKS = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
    ... on Sensor { sensorState { ticks(limit: 5) { status timestamp skipReason } } } } }"""
BOOTSTRAP = {
    "repositoryLocationName": "fx_assets",
    "repositoryName": "__repository__",
    "sensorName": "bootstrap",
}


def _bootstrap_ticks(dagster: Dagster, since: float) -> list[dict[str, Any]]:
    """The bootstrap sensor's finished ticks after ``since``, newest first."""
    state = dagster.patient_query(TICKS, s=BOOTSTRAP)["sensorOrError"]["sensorState"]
    return [t for t in state["ticks"] if t["timestamp"] > since and t["status"] != "STARTED"]


def test_fx_up_on_an_empty_home_fills_itself_once(tmp_path: Path) -> None:
    home = tmp_path / "fxhome"
    warehouse = sqlite_url(home / "warehouse.db")
    up, ports = start_fx_up({"FX_HOME": str(home), **ENV}, tmp_path / "fx-up.log")
    told: set[str] = set()
    try:
        wait_fx_up_ready(up)
        printed = up.text()
        assert f"{home / 'dagster'}/dagster.yaml (SQLite)" in printed, printed
        assert (home / "dagster" / "history" / "runs.db").is_file()

        # No click: the first forecast is served, and the page said what was happening.
        api = f"http://127.0.0.1:{ports['api']}"
        deadline = time.monotonic() + 420
        while True:
            status = bootstrap_status(Warehouse(warehouse, read_only=True))
            if status is not None:
                told.add(status.message().split(",")[0])
            latest = httpx.get(f"{api}/forecast/latest", headers=AUTH, timeout=30)
            if latest.status_code == 200:
                break
            assert time.monotonic() < deadline, (told, up.tail())
            time.sleep(2)
        assert latest.json()["model_version"], latest.text
        # The backfill may be over before the services answer; training takes longer.
        assert any(line.startswith("First start: first ") for line in told), told

        dagster = Dagster(f"http://127.0.0.1:{ports['dagster']}")
        runs = [dagster.wait(r["runId"], timeout=180) for r in dagster.runs()]
        assert sorted(r["jobName"] for r in runs) == [
            "etl_job",
            "features_job",
            "predictions_job",
            "training_job",
        ]
        assert {r["status"] for r in runs} == {"SUCCESS"}, runs
        assert {r["tags"]["fx/bootstrap"] for r in runs} == {r["jobName"] for r in runs}
        # The sensor's next tick sees the forecast run succeed and closes the first start.
        deadline = time.monotonic() + 60
        while not ((final := bootstrap_status(Warehouse(warehouse))) and final.done):
            assert time.monotonic() < deadline, final
            time.sleep(2)
        # Every run went through the queue that the daemon drains.
        etl = next(r for r in runs if r["jobName"] == "etl_job")
        kinds = [e["__typename"] for e in dagster.events(etl["runId"])]
        assert kinds.index("RunEnqueuedEvent") < kinds.index("RunStartingEvent"), kinds
        fixings = make_source("ecb").fetch(START, datetime.now(UTC).date())
        assert Warehouse(warehouse).count(RAW) == len(fixings)
        # The model service is closed to callers without its token; MLflow answers.
        assert httpx.get(f"{api}/forecast/latest", timeout=30).status_code == 401
        mlflow = httpx.get(f"http://127.0.0.1:{ports['mlflow']}/health", timeout=30)
        assert mlflow.status_code == 200, mlflow.text
        dash = httpx.get(f"http://127.0.0.1:{ports['dash']}/", timeout=30)
        assert dash.status_code == 200 and "fx book forecasts" in dash.text, dash.text[:500]
    finally:
        leftovers = up.stop()
    assert up.popen.returncode in (0, 130), up.tail()
    assert not up.alive(), leftovers

    # A second start on the same home (Dagster's three services suffice): the sensor
    # looks, and launches nothing.
    dagster_only = ("dagster-code", "dagster-webserver", "dagster-daemon")
    again, ports = start_fx_up(
        {"FX_HOME": str(home), **ENV}, tmp_path / "fx-up-2.log", dagster_only
    )
    try:
        again.wait_for_line("fx up: all 1 services ready", timeout=300)
        since = time.time()
        dagster = Dagster(f"http://127.0.0.1:{ports['dagster']}")
        deadline = time.monotonic() + 120
        while not (ticks := _bootstrap_ticks(dagster, since)):
            assert time.monotonic() < deadline, again.tail()
            time.sleep(2)
        assert ticks[0]["status"] == "SKIPPED", ticks
        assert len(dagster.runs()) == 4  # the first start's: ETL, features, training, forecast
    finally:
        leftovers = again.stop()
    assert not again.alive(), leftovers
