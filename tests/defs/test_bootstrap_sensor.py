"""The bootstrap sensor on a real instance and warehouse: on an empty warehouse it asks
for the whole history's backfill once, waits while that run is queued, asks for the
training once the backfill succeeded, and never starts on a warehouse that holds data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    RunRequest,
    SkipReason,
    build_sensor_context,
    instance_for_test,
)

from fx_assets.core.bootstrap import bootstrap_status
from fx_assets.core.contracts import RAW
from fx_assets.core.settings import sqlite_url
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.bootstrap.sensors import DONE, bootstrap_sensor
from fx_assets.defs.resources import MarketDataResource, ModelServiceResource, WarehouseResource
from tests.support.code_location import QUIET, load

START = "2025-10-01"


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as inst:
        yield inst


def _tick(instance: DagsterInstance, url: str, cursor: str | None = None) -> tuple[Any, str | None]:
    context = build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={
            "warehouse": WarehouseResource(url=url),
            "market_data": MarketDataResource(source="ecb", start_date=START),
            "model_service": ModelServiceResource(),
        },
    )
    return bootstrap_sensor(context), context.cursor


def test_an_empty_warehouse_is_backfilled_once_then_trained(
    fx_home: Path, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FX_SOURCE", "ecb")
    monkeypatch.setenv("FX_START_DATE", START)
    monkeypatch.setenv("FX_PAIRS", "EURUSD")
    url = sqlite_url(fx_home / "warehouse.db")

    first, cursor = _tick(instance, url)
    # FX_PAIRS' pairs are the "pair" partitions now.
    assert instance.get_dynamic_partitions("pair") == ["EURUSD"]
    assert isinstance(first, RunRequest) and first.job_name == "etl_job"
    assert first.run_key == "bootstrap:etl_job"
    years = (
        first.tags["dagster/asset_partition_range_start"],
        first.tags["dagster/asset_partition_range_end"],
    )
    assert years == ("EURUSD|2025", f"EURUSD|{datetime.now(UTC).year}")
    status = bootstrap_status(Warehouse(url))
    assert status is not None and "first backfill queued" in status.message()

    # The daemon made the run; it has not started yet. The next ticks ask for nothing.
    etl = load().resolve_job_def("etl_job")
    queued = instance.create_run_for_job(etl, tags=first.tags, status=DagsterRunStatus.NOT_STARTED)
    for _ in range(2):
        waiting, cursor = _tick(instance, url, cursor)
        assert isinstance(waiting, SkipReason), waiting
    status = bootstrap_status(Warehouse(url))
    assert status is not None and status.run_id == queued.run_id and status.status == "not_started"

    # The backfill runs (here in process, with the request's tags) and succeeds: next,
    # the training, once.
    instance.delete_run(queued.run_id)
    result = etl.execute_in_process(instance=instance, tags=first.tags, run_config=QUIET)
    assert result.success
    assert Warehouse(url).count(RAW) > 100
    (features,), cursor = _tick(instance, url, cursor)
    assert isinstance(features, RunRequest) and features.job_name == "features_job"
    assert features.run_key == "bootstrap:features_job:EURUSD"
    assert features.partition_key == "EURUSD"
    status = bootstrap_status(Warehouse(url))
    assert status is not None and status.step == "features_job"

    # A warehouse that holds data on another instance (a second home, a restored
    # database): the sensor never starts, and stops looking.
    with instance_for_test() as other:
        skip, other_cursor = _tick(other, url)
        assert isinstance(skip, SkipReason) and "holds data" in (skip.skip_message or "")
        assert other_cursor == DONE
        assert other.get_runs() == []
    assert isinstance(_tick(instance, url, DONE)[0], SkipReason)


def test_a_pair_added_later_becomes_a_partition_and_is_backfilled(
    fx_home: Path, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FX_START_DATE", START)
    monkeypatch.setenv("FX_PAIRS", "EURUSD")
    url = sqlite_url(fx_home / "warehouse.db")
    _tick(instance, url, DONE)
    assert instance.get_dynamic_partitions("pair") == ["EURUSD"]
    # A person adds two pairs to FX_PAIRS; no code changes, the next tick sees them.
    monkeypatch.setenv("FX_PAIRS", "EURUSD,GBPUSD,USDJPY")
    added, cursor = _tick(instance, url, DONE)
    assert instance.get_dynamic_partitions("pair") == ["EURUSD", "GBPUSD", "USDJPY"]
    assert isinstance(added, RunRequest) and added.job_name == "etl_job"
    assert added.tags["dagster/asset_partition_range_start"] == "GBPUSD|2025"
    assert added.tags["dagster/asset_partition_range_end"].startswith("USDJPY|")
    assert cursor == DONE
    # Registered once: the tick after asks for nothing.
    assert isinstance(_tick(instance, url, DONE)[0], SkipReason)


def test_the_first_start_can_be_left_to_a_person(
    fx_home: Path, instance: DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FX_BOOTSTRAP", "false")
    url = sqlite_url(fx_home / "warehouse.db")
    skip, _ = _tick(instance, url)
    assert isinstance(skip, SkipReason) and "FX_BOOTSTRAP" in (skip.skip_message or "")
    assert bootstrap_status(Warehouse(url)) is None
