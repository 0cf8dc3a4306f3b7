"""The monitoring sensors on a real Dagster instance: retrain on decay, alert on failure,
each for the pair it is about."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    DagsterInstance,
    DefaultSensorStatus,
    Definitions,
    RunRequest,
    SkipReason,
    asset,
    asset_check,
    build_run_status_sensor_context,
    build_sensor_context,
    define_asset_job,
    instance_for_test,
    materialize,
)
from pytest_httpserver import HTTPServer

from fx_assets.core.contracts import DRIFT, PERFORMANCE
from fx_assets.defs.ingestion.partitions import PAIRS
from fx_assets.defs.monitoring.sensors import (
    REASON_TAG,
    RETRAIN_TAG,
    RETRAIN_TRIGGER,
    alert_on_run_failure,
    retrain_on_decay_sensor,
)
from fx_assets.defs.resources import AlertsResource, MonitoringResource, WarehouseResource
from tests.support.code_location import register_pairs

HOOK = "/hooks/failure"


BOOK = ("EURUSD", "GBPUSD")


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as inst:
        register_pairs(inst, BOOK)
        yield inst


def _evaluate(
    name: str, asset_key: str, passed: bool, instance: DagsterInstance, pair: str = "EURUSD"
) -> None:
    """Record a real evaluation of the check ``name`` on ``pair`` (as model_monitoring
    reports it, in that pair's run)."""

    @asset(name=asset_key, partitions_def=PAIRS)
    def table() -> None:
        return None

    @asset_check(asset=table, name=name)
    def check() -> AssetCheckResult:
        return AssetCheckResult(passed=passed, severity=AssetCheckSeverity.WARN)

    assert materialize([table, check], instance=instance, partition_key=pair).success


def _tick(instance: DagsterInstance, cursor: str | None, min_days: int = 7):  # type: ignore[no-untyped-def]
    sensor = retrain_on_decay_sensor(DefaultSensorStatus.STOPPED)
    context = build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"monitoring": MonitoringResource(retrain_min_days=min_days)},
    )
    result = sensor(context)
    return result, context.cursor


def test_retrain_launches_once_per_firing_and_waits_the_minimum_days(
    instance: DagsterInstance,
) -> None:
    _evaluate("performance_decay", PERFORMANCE.name, passed=True, instance=instance)
    quiet, cursor = _tick(instance, None)
    assert isinstance(quiet, SkipReason)

    _evaluate("performance_decay", PERFORMANCE.name, passed=False, instance=instance)
    (fired,), cursor = _tick(instance, cursor)
    assert fired.partition_key == "EURUSD"  # that pair's training only
    assert fired.tags[RETRAIN_TAG] == RETRAIN_TRIGGER
    assert fired.tags[REASON_TAG] == "performance_decay"
    again, cursor = _tick(instance, cursor)
    assert isinstance(again, SkipReason)  # nothing new since

    # The launched training run exists now (tagged as the sensor tags it, for its pair).
    _train(instance, fired)
    _evaluate("feature_drift", DRIFT.name, passed=False, instance=instance)
    waiting, cursor = _tick(instance, cursor)
    assert isinstance(waiting, SkipReason)
    assert "EURUSD: feature_drift fired" in str(waiting.skip_message)
    assert "FX_RETRAIN_MIN_DAYS=7" in str(waiting.skip_message)

    _evaluate("feature_drift", DRIFT.name, passed=False, instance=instance)
    (soon,), _ = _tick(instance, cursor, min_days=0)
    assert soon.tags[REASON_TAG] == "feature_drift" and soon.partition_key == "EURUSD"
    assert soon.run_key != fired.run_key


def _train(instance: DagsterInstance, request: RunRequest) -> None:
    """A stand-in for the training run the sensor requested: its pair, its tags."""

    @asset(partitions_def=PAIRS)
    def stand_in_for_training() -> None:
        return None

    assert materialize(
        [stand_in_for_training],
        instance=instance,
        partition_key=request.partition_key,
        tags=dict(request.tags),
    ).success


def test_a_pairs_decay_retrains_that_pair_alone_and_waits_on_its_own_clock(
    instance: DagsterInstance,
) -> None:
    _evaluate("performance_decay", PERFORMANCE.name, False, instance, pair="GBPUSD")
    _evaluate("performance_decay", PERFORMANCE.name, True, instance, pair="EURUSD")
    (gbp,), cursor = _tick(instance, None)
    assert gbp.partition_key == "GBPUSD"
    assert gbp.run_key and "GBPUSD" in gbp.run_key
    _train(instance, gbp)

    # Both drift: EUR/USD has not retrained lately, GBP/USD just did and waits.
    _evaluate("feature_drift", DRIFT.name, False, instance, pair="GBPUSD")
    _evaluate("feature_drift", DRIFT.name, False, instance, pair="EURUSD")
    (eur,), cursor = _tick(instance, cursor)
    assert eur.partition_key == "EURUSD" and eur.tags[REASON_TAG] == "feature_drift"

    # Both decay and drift at once: one run each, with both reasons.
    for pair in BOOK:
        _evaluate("performance_decay", PERFORMANCE.name, False, instance, pair=pair)
        _evaluate("feature_drift", DRIFT.name, False, instance, pair=pair)
    requests, _ = _tick(instance, cursor, min_days=0)
    assert sorted(r.partition_key for r in requests) == list(BOOK)
    assert {r.tags[REASON_TAG] for r in requests} == {"performance_decay,feature_drift"}
    assert len({r.run_key for r in requests} | {gbp.run_key, eur.run_key}) == 4


def test_retrain_sensor_is_off_unless_switched_on(monkeypatch: pytest.MonkeyPatch) -> None:
    from fx_assets.defs.monitoring.sensors import monitoring_sensors

    def status() -> DefaultSensorStatus:
        (sensor,) = [s for s in monitoring_sensors().sensors if s.name == "retrain_on_decay"]
        return sensor.default_status

    monkeypatch.delenv("FX_RETRAIN_ON_DECAY", raising=False)
    assert status() == DefaultSensorStatus.STOPPED
    monkeypatch.setenv("FX_RETRAIN_ON_DECAY", "true")
    assert status() == DefaultSensorStatus.RUNNING


def test_a_failed_run_alerts_once_with_step_reason_and_run_id(
    instance: DagsterInstance, httpserver: HTTPServer, tmp_path: Path
) -> None:
    @asset
    def flaky_source() -> None:
        raise ValueError("feed answered 503 7 times")

    job = Definitions(
        assets=[flaky_source], jobs=[define_asset_job("ingest_job", selection=[flaky_source])]
    ).resolve_job_def("ingest_job")
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    httpserver.expect_request(HOOK).respond_with_data("ok")
    resources = {
        "alerts": AlertsResource(webhook_url=httpserver.url_for(HOOK)),
        "warehouse": WarehouseResource(url=f"sqlite:///{tmp_path / 'warehouse.db'}"),
    }
    for _ in range(2):  # the sensor re-evaluated, or fx run alerting too: one message
        context = build_run_status_sensor_context(
            sensor_name="alert_on_run_failure",
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            dagster_event=result.get_run_failure_event(),
            resources=resources,
        ).for_run_failure()
        alert_on_run_failure(context)
    (request,) = [req for req, _ in httpserver.log]
    text = json.loads(request.get_data())["text"]
    assert "ingest_job failed" in text
    assert "step flaky_source: ValueError: feed answered 503 7 times" in text
    assert result.run_id in text
    assert "hooks/failure" not in text


def test_a_pairs_failed_run_alert_names_the_pair(
    instance: DagsterInstance, httpserver: HTTPServer, tmp_path: Path
) -> None:
    @asset(partitions_def=PAIRS)
    def fx_predictions() -> None:
        raise ValueError("no champion model")

    job = Definitions(
        assets=[fx_predictions],
        jobs=[define_asset_job("predictions_job", selection=[fx_predictions])],
    ).resolve_job_def("predictions_job")
    result = job.execute_in_process(instance=instance, partition_key="GBPUSD", raise_on_error=False)
    assert not result.success
    httpserver.expect_request(HOOK).respond_with_data("ok")
    context = build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
        resources={
            "alerts": AlertsResource(webhook_url=httpserver.url_for(HOOK)),
            "warehouse": WarehouseResource(url=f"sqlite:///{tmp_path / 'warehouse.db'}"),
        },
    ).for_run_failure()
    alert_on_run_failure(context)
    (request,) = [req for req, _ in httpserver.log]
    text = json.loads(request.get_data())["text"]
    assert text.startswith("[failure] GBPUSD: predictions_job failed")
    assert "GBPUSD: step fx_predictions: ValueError: no champion model" in text
