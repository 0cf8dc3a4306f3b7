"""The monitoring sensors on a real Dagster instance: retrain on decay, alert on failure."""

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
from fx_assets.defs.monitoring.sensors import (
    REASON_TAG,
    RETRAIN_TAG,
    RETRAIN_TRIGGER,
    alert_on_run_failure,
    retrain_on_decay_sensor,
)
from fx_assets.defs.resources import AlertsResource, MonitoringResource, WarehouseResource

HOOK = "/hooks/failure"


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as inst:
        yield inst


def _evaluate(name: str, asset_key: str, passed: bool, instance: DagsterInstance) -> None:
    """Record a real evaluation of the check ``name`` (as model_monitoring reports it)."""

    @asset(name=asset_key)
    def table() -> None:
        return None

    @asset_check(asset=table, name=name)
    def check() -> AssetCheckResult:
        return AssetCheckResult(passed=passed, severity=AssetCheckSeverity.WARN)

    assert materialize([table, check], instance=instance).success


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
    fired, cursor = _tick(instance, cursor)
    assert isinstance(fired, RunRequest)
    assert fired.tags[RETRAIN_TAG] == RETRAIN_TRIGGER
    assert fired.tags[REASON_TAG] == "performance_decay"
    again, cursor = _tick(instance, cursor)
    assert isinstance(again, SkipReason)  # nothing new since

    # The launched training run exists now (tagged as the sensor tags it).
    @asset
    def stand_in_for_training() -> None:
        return None

    assert materialize([stand_in_for_training], instance=instance, tags=dict(fired.tags)).success
    _evaluate("feature_drift", DRIFT.name, passed=False, instance=instance)
    waiting, cursor = _tick(instance, cursor)
    assert isinstance(waiting, SkipReason)
    assert "FX_RETRAIN_MIN_DAYS=7" in str(waiting.skip_message)

    _evaluate("feature_drift", DRIFT.name, passed=False, instance=instance)
    soon, _ = _tick(instance, cursor, min_days=0)
    assert isinstance(soon, RunRequest) and soon.tags[REASON_TAG] == "feature_drift"
    assert soon.run_key != fired.run_key


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
