"""The first start's progress as the dashboard reads it: recorded by step, read back
through a read-only connection, one line for a person."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from fx_assets.core.bootstrap import BootstrapStatus, bootstrap_status, record_step
from fx_assets.core.settings import sqlite_url
from fx_assets.core.warehouse import Warehouse
from fx_dash.reader import load_snapshot

T0 = datetime(2026, 12, 5, 12, 1, tzinfo=UTC)
T1 = datetime(2026, 12, 5, 12, 3, tzinfo=UTC)


def test_the_newest_step_is_read_back_read_only_and_told_in_one_line(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "warehouse.db")
    wh = Warehouse(url)
    assert bootstrap_status(wh) is None  # nothing launched: no first start to speak of

    record_step(wh, "etl_job", None, "launching", None, T0)
    record_step(wh, "etl_job", "0a1b2c3d-4e5f", "started", T0, T0)
    reader = Warehouse(url, read_only=True)
    status = bootstrap_status(reader)
    assert status == BootstrapStatus("etl_job", "0a1b2c3d-4e5f", "started", T0, T0)
    assert (
        status.message() == "First start: first backfill running, started 12:01 UTC, run 0a1b2c3d."
    )

    # The dashboard's empty page says it instead of "run fx run".
    snapshot = load_snapshot(url)
    assert snapshot.message == status.message()

    record_step(wh, "etl_job", "0a1b2c3d-4e5f", "success", T0, T1)
    record_step(wh, "training_job", None, "launching", None, T1)
    status = bootstrap_status(reader)
    assert status is not None and status.step == "training_job"
    assert status.message() == "First start: first training queued, run being created."

    record_step(wh, "training_job", "99887766-5544", "failure", T1, T1)
    failed = bootstrap_status(reader)
    assert failed is not None and not failed.done
    assert failed.message() == (
        "First start stopped: the first training (run 99887766) ended failure; see the Dagster UI."
    )


def test_an_older_warehouse_without_the_table_has_no_first_start(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "warehouse.db").close()  # a warehouse of no table at all
    reader = Warehouse(sqlite_url(tmp_path / "warehouse.db"), read_only=True)
    assert bootstrap_status(reader) is None
