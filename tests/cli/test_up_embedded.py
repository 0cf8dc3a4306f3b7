"""`fx up` with no PostgreSQL configured: the same services on the embedded defaults.

The Dagster instance, the warehouse and the MLflow store are SQLite files under FX_HOME;
the run queue still holds runs for the daemon. Every process is stopped by pid.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from fx_assets.core.contracts import RAW
from fx_assets.core.ingestion.catalog import make_source
from fx_assets.core.warehouse import Warehouse
from tests.support.dagster_api import Dagster
from tests.support.fullstack import start_fx_up, wait_fx_up_ready

pytestmark = [pytest.mark.fullstack, pytest.mark.timeout(600)]

START = date(2025, 10, 1)


def test_fx_up_runs_every_service_on_the_embedded_defaults(tmp_path: Path) -> None:
    home = tmp_path / "fxhome"
    env = {"FX_HOME": str(home), "FX_SOURCE": "ecb", "FX_START_DATE": START.isoformat()}
    up, ports = start_fx_up(env, tmp_path / "fx-up.log")
    try:
        wait_fx_up_ready(up)
        printed = up.text()
        assert f"{home / 'dagster'}/dagster.yaml (SQLite)" in printed, printed
        instance = (home / "dagster" / "dagster.yaml").read_text()
        assert "QueuedRunCoordinator" in instance and "postgres" not in instance, instance

        # A run launched in the UI's way is queued, dequeued by the daemon, and fills the
        # SQLite warehouse under FX_HOME.
        dagster = Dagster(f"http://127.0.0.1:{ports['dagster']}")
        dagster.wait_loaded()
        years = {
            "dagster/asset_partition_range_start": str(START.year),
            "dagster/asset_partition_range_end": str(datetime.now(UTC).year),
        }
        run_id = dagster.launch("etl_job", years)
        run = dagster.wait(run_id, timeout=240)
        assert run["status"] == "SUCCESS", dagster.errors(run_id)
        kinds = [e["__typename"] for e in dagster.events(run_id)]
        assert kinds.index("RunEnqueuedEvent") < kinds.index("RunStartingEvent"), kinds
        fixings = make_source("ecb").fetch(START, datetime.now(UTC).date())
        assert Warehouse(f"sqlite:///{home / 'warehouse.db'}").count(RAW) == len(fixings)

        # The model service is up and closed to callers without its token; MLflow and the
        # dashboard answer.
        api = f"http://127.0.0.1:{ports['api']}"
        assert httpx.get(f"{api}/health", timeout=30).status_code == 200
        # No FX_API_TOKEN was set: fx up made one for the session, so nobody else gets in.
        ready = httpx.get(f"{api}/ready", timeout=30)
        assert ready.status_code == 401, ready.text
        mlflow = httpx.get(f"http://127.0.0.1:{ports['mlflow']}/health", timeout=30)
        assert mlflow.status_code == 200, mlflow.text
        dash = httpx.get(f"http://127.0.0.1:{ports['dash']}/", timeout=30)
        assert dash.status_code == 200 and "EUR/USD" in dash.text, dash.text[:500]
        assert (home / "mlflow.db").exists()
    finally:
        leftovers = up.stop()
    assert up.popen.returncode in (0, 130), up.tail()
    assert not up.alive(), leftovers
