"""The whole stack as real local processes, as `fx up` starts it, on the local PostgreSQL.

Fresh databases and roles from deploy/postgres/init.sql; `fx up` with the repo's
dagster.yaml on PostgreSQL, a real `mlflow server` (PostgreSQL backend), the model
service and the dashboard (both on the read-only role). Jobs are launched through the
Dagster GraphQL API and executed by the daemon through the queued run coordinator. Then
PostgreSQL is stopped for a moment in the middle of a run. Every process is stopped by
pid at the end, and the databases dropped.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import sqlalchemy as sa

from tests.support.dagster_api import Dagster
from tests.support.fullstack import (
    StackDatabases,
    Tracked,
    page_text,
    pg_cluster,
    pg_outage,
    start_fx_up,
    wait_fx_up_ready,
)

pytestmark = [pytest.mark.fullstack, pytest.mark.timeout(900)]

# A short history keeps training short, yet the ECB rates to October 2026 leave 217
# modelling rows: enough for this small split (60 test + 1 gap + 150 train, two CV folds).
START = date(2025, 10, 1)
TRAINING_ENV = {"FX_TEST_DAYS": "60", "FX_CV_FOLDS": "2", "FX_TUNING_BUDGET": "2"}
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
PAIR = "EURUSD"
ON_PAIR = {"dagster/partition": PAIR}


@dataclass
class Stack:
    dbs: StackDatabases
    up: Tracked
    dagster: Dagster
    api: str
    dash: str
    mlflow: str
    token: str
    warehouse: sa.Engine

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def dates(self, table: str, key: str = "date") -> list[date]:
        with self.warehouse.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT {key} FROM {table} ORDER BY {key}")).scalars()
            return list(rows)


def _server() -> str:
    url = os.environ.get("FX_TEST_POSTGRES_URL")
    if not url or pg_cluster() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the full-stack test needs FX_TEST_POSTGRES_URL and a local cluster")
        pytest.skip("FX_TEST_POSTGRES_URL not set, or no local PostgreSQL cluster to stop")
    return url


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    dbs = StackDatabases.create(_server())
    tmp = tmp_path_factory.mktemp("fullstack")
    token = uuid.uuid4().hex
    up, ports = start_fx_up(
        {
            "FX_HOME": str(tmp / "fxhome"),
            "FX_SOURCE": "ecb",
            "FX_START_DATE": START.isoformat(),
            "FX_WAREHOUSE_URL": dbs.url("warehouse", "warehouse_role"),
            "FX_READONLY_WAREHOUSE_URL": dbs.url("warehouse", "reader_role"),
            "DAGSTER_PG_HOST": dbs.server.host or "127.0.0.1",
            "DAGSTER_PG_PORT": str(dbs.server.port or 5432),
            "DAGSTER_PG_USER": dbs.name("dagster_role"),
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": dbs.name("dagster"),
            "MLFLOW_BACKEND_STORE_URI": dbs.url("mlflow", "mlflow_role"),
            "MLFLOW_ARTIFACTS_DESTINATION": str(tmp / "mlartifacts"),
            "FX_API_TOKEN": token,
            "FX_CHAMPION_RELOAD_SECONDS": "2",
            # This test launches every run itself, in its own order (test_up_embedded.py
            # shows the first start filling itself).
            "FX_BOOTSTRAP": "false",
            **TRAINING_ENV,
        },
        tmp / "fx-up.log",
    )
    engine = sa.create_engine(
        dbs.url("warehouse", "warehouse_role").replace("postgresql:", "postgresql+psycopg:", 1),
        pool_pre_ping=True,
    )
    try:
        wait_fx_up_ready(up)
        dagster = Dagster(f"http://127.0.0.1:{ports['dagster']}")
        dagster.wait_loaded()
        yield Stack(
            dbs=dbs,
            up=up,
            dagster=dagster,
            api=f"http://127.0.0.1:{ports['api']}",
            dash=f"http://127.0.0.1:{ports['dash']}",
            mlflow=f"http://127.0.0.1:{ports['mlflow']}",
            token=token,
            warehouse=engine,
        )
    finally:
        up.stop()
        engine.dispose()
        dbs.drop()


def etl_range() -> dict[str, str]:
    """EUR/USD's every partition (year) from START's to this year's."""
    from fx_assets.defs.ingestion.partitions import trading_year_partitions

    keys = trading_year_partitions(START).get_partition_keys(current_time=datetime.now(UTC))
    return {RANGE_START: f"{PAIR}|{keys[0]}", RANGE_END: f"{PAIR}|{keys[-1]}"}


def features_run_after(stack: Stack, raw_run_id: str, timeout: float = 150) -> dict[str, Any]:
    """The features run the features sensor launched for ``raw_run_id``'s new bars."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = stack.dagster.runs({"dagster/sensor_name": "features_sensor"})
        mine = [r for r in runs if r["tags"].get("fx/raw_run_id") == raw_run_id]
        if mine:
            assert len(mine) == 1 and mine[0]["jobName"] == "features_job", mine
            return run_ok(stack, mine[0]["runId"], timeout=180)
        time.sleep(2)
    raise AssertionError(f"the features sensor launched no run for {raw_run_id}")


def ecb_dates(first: date, last: date) -> list[date]:
    from fx_assets.core.ingestion.catalog import make_source

    bars = make_source("ecb").fetch(first, last)
    return [d.date() for d in bars["date"]]


def run_ok(stack: Stack, run_id: str, timeout: float) -> dict[str, Any]:
    run = stack.dagster.wait(run_id, timeout)
    if run["status"] != "SUCCESS":
        errors = stack.dagster.errors(run_id)
        raise AssertionError(f"{run['jobName']} {run['status']}: {errors}\n{stack.up.tail()}")
    return run


def test_full_stack(stack: Stack, tmp_path: Path) -> None:
    started = time.monotonic()

    def lap(what: str) -> None:
        print(f"fullstack: {what} at {time.monotonic() - started:.0f} s")

    dagster = stack.dagster
    tags = etl_range()
    expected = ecb_dates(START, datetime.now(UTC).date())

    # 1. ETL through GraphQL; the daemon dequeues it (QueuedRunCoordinator) and runs it.
    etl = run_ok(stack, dagster.launch("etl_job", tags), timeout=240)
    kinds = [e["__typename"] for e in dagster.events(etl["runId"])]
    # Queued by the webserver, then started by the daemon's queued-run coordinator.
    assert "RunEnqueuedEvent" in kinds and "RunStartingEvent" in kinds, kinds
    assert kinds.index("RunEnqueuedEvent") < kinds.index("RunStartingEvent"), kinds
    # Every ECB fixing of the range once: none lost, none doubled (and no more than that),
    # read through the seed's name (a view of EUR/USD's rows).
    assert stack.dates("eur_usd_raw") == expected
    # The features sensor rebuilds the pair's features after the new bars.
    features_run_after(stack, etl["runId"])
    staging, final = stack.dates("eur_usd_staging"), stack.dates("eur_usd_final")
    assert staging == expected
    assert final and final == expected[len(expected) - len(final) :]  # all but the warm-up
    lap("ETL")

    # 2. Training through GraphQL; a second training waits in the queue (tag limit) while
    #    the first runs; the first's champion reaches the model service.
    first = dagster.launch("training_job", ON_PAIR)
    check_trainings_never_overlap(stack, first)
    training = run_ok(stack, first, timeout=420)
    assert training["tags"].get("fx/pool") == "training"
    version = champion_version(stack)
    wait_service_serves(stack, version)
    lap("training")

    # 3. PostgreSQL stops while the staging step is writing: the run fails cleanly
    #    (its transaction rolled back), and re-executing it after the restart succeeds.
    rerun_id = check_outage(stack, expected, staging, final)
    lap("outage and re-run")

    # 4. The predictions sensor sees the re-run's fx_final and launches the predictions
    #    run by itself; the forecast goes through the model service into the warehouse.
    predictions = wait_sensor_run(stack, rerun_id)
    run_ok(stack, predictions["runId"], timeout=300)
    meta = dagster.latest_materialization("fx_predictions")
    assert meta["runId"] == predictions["runId"] and meta["scored"] == "model service", meta
    lap("sensor-launched predictions")

    forecast = httpx.get(f"{stack.api}/forecast/latest", headers=stack.auth, timeout=30)
    assert forecast.status_code == 200, forecast.text
    body = forecast.json()
    assert body["feature_date"] == final[-1].isoformat(), body
    assert body["model_version"] == version, body
    with stack.warehouse.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT feature_date, model_version FROM eur_usd_predictions")
        ).all()
    assert (final[-1], version) in stored, stored

    # 5. The dashboard page, in a real browser, shows that forecast.
    text = page_text(
        f"{stack.dash}/pair/{PAIR}", tmp_path, [f"feature date {body['feature_date']}"]
    )
    assert f"version {version}" in text, text
    assert "UP" in text if body["direction"] == 1 else "DOWN OR FLAT" in text, text
    lap("service and dashboard")

    # 6. The readers' role reads and cannot write; no secret reached a log.
    check_reader_role(stack)
    assert stack.token not in stack.up.text()

    # 7. Ctrl-C stops every process fx up started.
    leftovers = stack.up.stop()
    assert stack.up.popen.returncode in (0, 130), stack.up.tail()
    assert not stack.up.alive(), leftovers
    lap("stopped")


def check_trainings_never_overlap(stack: Stack, first: str, window: float = 12) -> None:
    """While ``first`` runs, a second training stays queued though the run queue has room;
    it is then cancelled, so that the test trains once."""
    dagster = stack.dagster
    deadline = time.monotonic() + 180
    while True:
        # One read per look: two could see STARTING, then STARTED.
        status = dagster.run(first)["status"]
        if status == "STARTED":
            break
        assert status in ("QUEUED", "STARTING", "NOT_STARTED"), status
        assert time.monotonic() < deadline, f"first training still {status}"
        time.sleep(0.5)
    second = dagster.launch("training_job", ON_PAIR)
    watched = time.monotonic()
    seen = 0
    while time.monotonic() - watched < window:
        # The daemon dequeues every 2 s: a run it may start is started within the window.
        first_running = dagster.run(first)["status"] == "STARTED"
        if dagster.run(second)["status"] != "QUEUED":
            # Dequeued: allowed only once the first has ended, never beside it.
            assert dagster.run(first)["status"] != "STARTED", dagster.run(second)
            break
        busy = [r for r in dagster.runs() if r["status"] in ("STARTING", "STARTED")]
        assert len(busy) < 3, busy  # max_concurrent_runs is not what holds it back
        seen += 1
        if not first_running:
            break
        time.sleep(1)
    assert seen >= 5 and time.monotonic() - watched >= 5, f"first training ended too soon ({seen})"
    # Once the first has ended the daemon may dequeue the second at any moment; terminate
    # waits out its STARTING state, so this is not a race.
    dagster.terminate(second)
    assert dagster.wait(second, timeout=60)["status"] == "CANCELED"


def champion_version(stack: Stack) -> str:
    resp = httpx.get(
        f"{stack.mlflow}/api/2.0/mlflow/registered-models/alias",
        params={"name": "eur_usd_direction", "alias": "champion"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["model_version"]["version"])


def wait_service_serves(stack: Stack, version: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = httpx.get(f"{stack.api}/ready", headers=stack.auth, timeout=30)
        if last.status_code == 200 and last.json().get("model_version") == version:
            return
        time.sleep(1)
    raise AssertionError(f"model service never served version {version}: {last and last.text}")


def wait_sensor_run(stack: Stack, final_run_id: str, timeout: float = 150) -> dict[str, Any]:
    """The predictions run the sensor launched for ``final_run_id``'s fx_final."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = stack.dagster.runs({"dagster/sensor_name": "predictions_sensor"})
        mine = [r for r in runs if r["tags"].get("fx/final_run_id") == final_run_id]
        if mine:
            assert len(mine) == 1, mine
            assert mine[0]["jobName"] == "predictions_job", mine
            return mine[0]
        time.sleep(2)
    raise AssertionError(f"the sensor launched no run for {final_run_id}:\n{stack.up.tail()}")


def check_reader_role(stack: Stack) -> None:
    with psycopg.connect(stack.dbs.url("warehouse", "reader_role")) as conn:
        assert conn.execute("SELECT count(*) FROM eur_usd_predictions").fetchone()[0] >= 1
        conn.rollback()
        conn.execute("BEGIN READ WRITE")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM fx_predictions")


def check_outage(
    stack: Stack,
    expected: list[date],
    staging: list[date],
    final: list[date],
) -> str:
    dagster = stack.dagster
    admin = psycopg.connect(stack.dbs.admin_url(stack.dbs.name("warehouse")), autocommit=False)
    try:
        # Hold the staging table so that the step is caught inside its write.
        admin.execute("LOCK TABLE fx_staging IN ACCESS EXCLUSIVE MODE")
        # The pair's features, as the features sensor launches them after the daily bars.
        run_id = dagster.launch("features_job", ON_PAIR)
        blocked = wait_blocked_delete(stack, "fx_staging", admin.info.backend_pid)
        outage_s = pg_outage(stack.dbs, seconds=0)
    finally:
        admin.close()
    failed = dagster.wait(run_id, timeout=180)
    assert failed["status"] == "FAILURE", failed
    steps = {s["stepKey"]: s["status"] for s in failed["stepStats"]}
    assert steps.get("fx_staging") == "FAILURE", steps
    assert steps.get("fx_final") in (None, "SKIPPED"), steps
    errors = dagster.errors(run_id)
    assert "terminating connection due to administrator command" in errors, errors
    print(f"fullstack: PostgreSQL down {outage_s:.1f} s under backend {blocked}")
    # Nothing half-written: the interrupted transaction left the previous rows.
    assert stack.dates("eur_usd_raw") == expected
    assert stack.dates("eur_usd_staging") == staging
    assert stack.dates("eur_usd_final") == final

    rerun = run_ok(stack, dagster.reexecute(run_id), timeout=180)
    assert rerun["tags"].get("dagster/parent_run_id") == run_id
    assert stack.dates("eur_usd_raw") == expected
    assert stack.dates("eur_usd_staging") == staging
    assert stack.dates("eur_usd_final") == final
    return str(rerun["runId"])


def wait_blocked_delete(stack: Stack, table: str, holder: int, timeout: float = 180) -> int:
    """The backend of the run's DELETE on ``table``, once it waits on our lock."""
    q = """SELECT pid FROM pg_stat_activity
           WHERE datname = %s AND pid <> %s AND wait_event_type = 'Lock'
             AND query ILIKE %s"""
    deadline = time.monotonic() + timeout
    with psycopg.connect(stack.dbs.admin_url(), autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                q, (stack.dbs.name("warehouse"), holder, f"DELETE FROM {table}%")
            ).fetchone()
            if row:
                return int(row[0])
            time.sleep(0.3)
    raise AssertionError(f"no DELETE on {table} blocked after {timeout:.0f} s:\n{stack.up.tail()}")
