"""The predictions sensor: one predictions run per pair and new fx_final of that pair."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from dagster import (
    AssetKey,
    DagsterInstance,
    DefaultSensorStatus,
    build_sensor_context,
    instance_for_test,
    materialize,
    partition_loading_context,
)

from fx_assets.core.contracts import DRIFT, FINAL, PERFORMANCE, PREDICTIONS
from fx_assets.defs.features.assets import fx_final
from fx_assets.defs.inference.sensors import BOOTSTRAP_TAG, predictions_job, predictions_sensor
from fx_assets.defs.ingestion.partitions import PAIRS
from fx_assets.defs.resources import WarehouseResource
from tests.support.champions import fill_warehouse
from tests.support.code_location import load, register_pairs

BOOK = ("EURUSD", "GBPUSD")


def _tick(instance: DagsterInstance, cursor: str | None):  # type: ignore[no-untyped-def]
    context = build_sensor_context(instance=instance, cursor=cursor, definitions=load())
    # As the daemon evaluates it: a request's pair is checked against the instance's pairs.
    with partition_loading_context(dynamic_partitions_store=instance):
        return predictions_sensor.evaluate_tick(context)


def _materialize_final(
    instance: DagsterInstance, url: str, pair: str = "EURUSD", **kwargs: object
) -> None:
    result = materialize(
        [fx_final],
        instance=instance,
        resources={"warehouse": WarehouseResource(url=url)},
        partition_key=pair,
        **kwargs,  # type: ignore[arg-type]
    )
    assert result.success


def _fill(url: str) -> None:
    for pair in BOOK:
        fill_warehouse(url, date(2024, 1, 1), date(2024, 6, 28), pair=pair)


def test_one_run_per_pair_and_new_materialization_of_its_final(fx_home: Path) -> None:
    url = f"sqlite:///{fx_home / 'warehouse.db'}"
    _fill(url)
    with instance_for_test() as instance:
        register_pairs(instance, BOOK)
        nothing = _tick(instance, None)
        assert nothing.run_requests == []

        _materialize_final(instance, url)
        first = _tick(instance, nothing.cursor)
        (request,) = first.run_requests
        assert request.job_name in (None, predictions_job.name)
        assert request.partition_key == "EURUSD"
        assert request.run_key and request.run_key.startswith(f"{FINAL.name}:EURUSD:")
        assert first.cursor

        # No new materialization: no run, and the cursor stays where it was.
        idle = _tick(instance, first.cursor)
        assert idle.run_requests == []
        assert idle.cursor in (None, first.cursor)

        # Both pairs rebuilt between two ticks: a run for each, none forgotten.
        _materialize_final(instance, url, "GBPUSD")
        _materialize_final(instance, url, "EURUSD")
        both = _tick(instance, first.cursor)
        assert sorted(r.partition_key for r in both.run_requests) == ["EURUSD", "GBPUSD"]
        assert request.run_key not in {r.run_key for r in both.run_requests}

        # Two materializations of one pair between ticks still make one run, for the newest.
        _materialize_final(instance, url, "GBPUSD")
        _materialize_final(instance, url, "GBPUSD")
        again = _tick(instance, both.cursor)
        (gbp,) = again.run_requests
        assert gbp.partition_key == "GBPUSD"
        assert gbp.run_key not in {r.run_key for r in both.run_requests}
        assert _tick(instance, again.cursor).run_requests == []


def test_sensor_is_on_by_default_and_launches_the_predictions_job_per_pair() -> None:
    assert predictions_sensor.default_status == DefaultSensorStatus.RUNNING
    defs = load()
    assert defs.resolve_sensor_def("predictions_sensor").job_name == "predictions_job"
    job = defs.resolve_job_def("predictions_job")
    assert job.partitions_def == PAIRS
    # Monitoring follows every forecast run in the same job.
    assert job.asset_layer.executable_asset_keys == {
        AssetKey(PREDICTIONS.name),
        AssetKey(DRIFT.name),
        AssetKey(PERFORMANCE.name),
    }


def test_the_first_starts_backfill_is_left_to_the_bootstrap(fx_home: Path) -> None:
    url = f"sqlite:///{fx_home / 'warehouse.db'}"
    _fill(url)
    with instance_for_test() as instance:
        register_pairs(instance, BOOK)
        start = _tick(instance, None)
        # The bootstrap's backfill: no champion exists yet, the bootstrap forecasts later.
        for pair in BOOK:
            _materialize_final(instance, url, pair, tags={BOOTSTRAP_TAG: "etl_job"})
        skipped = _tick(instance, start.cursor)
        assert skipped.run_requests == []
        assert "bootstrap" in (skipped.skip_message or "")
        # The next materialization (the daily ETL) is predicted as before.
        _materialize_final(instance, url, "GBPUSD")
        (request,) = _tick(instance, skipped.cursor).run_requests
        assert request.partition_key == "GBPUSD"
