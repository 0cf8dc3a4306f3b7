"""The asset sensor: one predictions run per new eur_usd_final, none otherwise."""

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
)

from fx_assets.defs.features.assets import eur_usd_final
from fx_assets.defs.inference.sensors import BOOTSTRAP_TAG, predictions_job, predictions_sensor
from fx_assets.defs.resources import WarehouseResource
from tests.support.champions import fill_warehouse
from tests.support.code_location import load


def _tick(instance: DagsterInstance, cursor: str | None):  # type: ignore[no-untyped-def]
    context = build_sensor_context(instance=instance, cursor=cursor, definitions=load())
    return predictions_sensor.evaluate_tick(context)


def _materialize_final(instance: DagsterInstance, url: str) -> None:
    result = materialize(
        [eur_usd_final], instance=instance, resources={"warehouse": WarehouseResource(url=url)}
    )
    assert result.success


def test_one_run_per_new_materialization_of_eur_usd_final(fx_home: Path) -> None:
    url = f"sqlite:///{fx_home / 'warehouse.db'}"
    fill_warehouse(url, date(2024, 1, 1), date(2024, 6, 28))
    with instance_for_test() as instance:
        nothing = _tick(instance, None)
        assert nothing.run_requests == []

        _materialize_final(instance, url)
        first = _tick(instance, nothing.cursor)
        assert len(first.run_requests) == 1
        request = first.run_requests[0]
        assert request.job_name in (None, predictions_job.name)
        assert request.run_key and request.run_key.startswith("eur_usd_final:")
        assert first.cursor

        # No new materialization: no run, and the cursor stays where it was.
        idle = _tick(instance, first.cursor)
        assert idle.run_requests == []
        assert idle.cursor in (None, first.cursor)

        # Two materializations between ticks still make one run, for the newest.
        _materialize_final(instance, url)
        _materialize_final(instance, url)
        second = _tick(instance, first.cursor)
        assert len(second.run_requests) == 1
        assert second.run_requests[0].run_key != request.run_key
        assert _tick(instance, second.cursor).run_requests == []


def test_sensor_is_on_by_default_and_launches_the_predictions_job() -> None:
    assert predictions_sensor.default_status == DefaultSensorStatus.RUNNING
    assert predictions_sensor.asset_key == AssetKey("eur_usd_final")
    defs = load()
    assert defs.resolve_sensor_def("predictions_sensor").job_name == "predictions_job"
    job = defs.resolve_job_def("predictions_job")
    # Monitoring follows every forecast run in the same job.
    assert job.asset_layer.executable_asset_keys == {
        AssetKey("eur_usd_predictions"),
        AssetKey("eur_usd_drift"),
        AssetKey("eur_usd_performance"),
    }


def test_the_first_starts_backfill_is_left_to_the_bootstrap(fx_home: Path) -> None:
    url = f"sqlite:///{fx_home / 'warehouse.db'}"
    fill_warehouse(url, date(2024, 1, 1), date(2024, 6, 28))
    with instance_for_test() as instance:
        start = _tick(instance, None)
        # The bootstrap's backfill: no champion exists yet, the bootstrap forecasts later.
        result = materialize(
            [eur_usd_final],
            instance=instance,
            resources={"warehouse": WarehouseResource(url=url)},
            tags={BOOTSTRAP_TAG: "etl_job"},
        )
        assert result.success
        skipped = _tick(instance, start.cursor)
        assert skipped.run_requests == []
        assert "bootstrap" in (skipped.skip_message or "")
        # The next materialization (the daily ETL) is predicted as before.
        _materialize_final(instance, url)
        assert len(_tick(instance, skipped.cursor).run_requests) == 1
