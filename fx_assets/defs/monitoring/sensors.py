"""Monitoring automation: failed runs alert a person; decay or drift may launch training."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from dagster import (
    AssetCheckKey,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from fx_assets.core.alerts import run_failed
from fx_assets.core.contracts import DRIFT, PERFORMANCE
from fx_assets.core.settings import load_settings
from fx_assets.defs.monitoring.alerting import error_line, notifier
from fx_assets.defs.resources import AlertsResource, MonitoringResource, WarehouseResource


@run_failure_sensor(default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=30)
def alert_on_run_failure(
    context: RunFailureSensorContext, alerts: AlertsResource, warehouse: WarehouseResource
) -> None:
    """Tell a person which job failed, at which step, why, and the run id."""
    steps = context.get_step_failure_events()
    if steps:
        first = steps[0]
        where = f"step {first.step_key}"
        reason = error_line(first.step_failure_data.error if first.step_failure_data else None)
    else:
        where, reason = "run", context.failure_event.message or "no reason recorded"
    run = context.dagster_run
    notifier(alerts, warehouse)(run_failed(run.job_name, run.run_id, where, reason))


RETRAIN_TAG = "fx/trigger"
RETRAIN_TRIGGER = "retrain_on_decay"
REASON_TAG = "fx/retrain_reason"
WATCHED = (
    AssetCheckKey(dg.AssetKey(PERFORMANCE.name), "performance_decay"),
    AssetCheckKey(dg.AssetKey(DRIFT.name), "feature_drift"),
)


def _last_retrain(context: SensorEvaluationContext) -> datetime | None:
    records = context.instance.get_run_records(
        filters=RunsFilter(tags={RETRAIN_TAG: RETRAIN_TRIGGER}), limit=1
    )
    return records[0].create_timestamp if records else None


def retrain_on_decay_sensor(default_status: DefaultSensorStatus) -> dg.SensorDefinition:
    @sensor(
        name="retrain_on_decay",
        job_name="training_job",
        default_status=default_status,
        minimum_interval_seconds=60,
    )
    def retrain_on_decay(
        context: SensorEvaluationContext, monitoring: MonitoringResource
    ) -> RunRequest | SkipReason:
        """Retrain when performance_decay or feature_drift newly fired, at most every N days."""
        cursor = int(context.cursor or 0)
        fired = []
        newest = cursor
        for key in WATCHED:
            history = context.instance.event_log_storage.get_asset_check_execution_history(
                key, limit=1, status={AssetCheckExecutionRecordStatus.FAILED}
            )
            if history and history[0].id > cursor:
                fired.append(key.name)
                newest = max(newest, history[0].id)
        if not fired:
            return SkipReason("neither performance_decay nor feature_drift fired since last look")
        context.update_cursor(str(newest))
        last = _last_retrain(context)
        wait = timedelta(days=monitoring.retrain_min_days)
        if last is not None and datetime.now(UTC) - last < wait:
            return SkipReason(
                f"{', '.join(fired)} fired, but training ran on decay at {last:%Y-%m-%d %H:%M} "
                f"UTC: within FX_RETRAIN_MIN_DAYS={monitoring.retrain_min_days}"
            )
        return RunRequest(
            run_key=f"retrain:{newest}",
            tags={RETRAIN_TAG: RETRAIN_TRIGGER, REASON_TAG: ",".join(fired)},
        )

    return retrain_on_decay


@dg.definitions
def monitoring_sensors() -> dg.Definitions:
    """The retrain sensor starts running only with FX_RETRAIN_ON_DECAY=true (or from the UI)."""
    on = load_settings().retrain_on_decay
    status = DefaultSensorStatus.RUNNING if on else DefaultSensorStatus.STOPPED
    return dg.Definitions(sensors=[alert_on_run_failure, retrain_on_decay_sensor(status)])
