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

from fx_assets.core.alerts import run_failed
from fx_assets.core.contracts import DRIFT, PERFORMANCE
from fx_assets.core.settings import load_settings
from fx_assets.defs.monitoring.alerting import FAILURE_EVENTS, failure_reason, notifier
from fx_assets.defs.resources import AlertsResource, MonitoringResource, WarehouseResource


@run_failure_sensor(default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=30)
def alert_on_run_failure(
    context: RunFailureSensorContext, alerts: AlertsResource, warehouse: WarehouseResource
) -> None:
    """Tell a person which job failed, at which step or check, why, and the run id."""
    run = context.dagster_run
    logs = context.instance.all_logs(run.run_id, of_type=FAILURE_EVENTS)
    where, why = failure_reason(e.dagster_event for e in logs if e.dagster_event is not None)
    notifier(alerts, warehouse)(run_failed(run.job_name, run.run_id, where, why))


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


# Check executions looked at per tick: the checks run once a day, the sensor every minute.
HISTORY = 20


def _newest_failure(context: SensorEvaluationContext, key: AssetCheckKey, after: int) -> int | None:
    """The id of the newest failed evaluation of ``key`` recorded after ``after``, if any."""
    # Dagster 1.13 has no public query of a check's history; the storage method is not
    # underscored and its records carry the public AssetCheckEvaluation.
    history = context.instance.event_log_storage.get_asset_check_execution_history(
        key, limit=HISTORY
    )
    failed = [
        r.id
        for r in history
        if r.id > after and r.evaluation is not None and not r.evaluation.passed
    ]
    return max(failed, default=None)


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
            newest_failure = _newest_failure(context, key, after=cursor)
            if newest_failure is not None:
                fired.append(key.name)
                newest = max(newest, newest_failure)
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
