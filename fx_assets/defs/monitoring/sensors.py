"""Monitoring automation: failed runs alert a person; a pair's decay or drift may launch
that pair's training."""

from datetime import UTC, datetime, timedelta
from typing import Any

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
from fx_assets.dagster_adapter import PARTITION_TAG
from fx_assets.defs.ingestion.partitions import PAIRS
from fx_assets.defs.monitoring.alerting import (
    FAILURE_EVENTS,
    failure_reason,
    notifier,
    run_pair,
)
from fx_assets.defs.resources import AlertsResource, MonitoringResource, WarehouseResource


@run_failure_sensor(default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=30)
def alert_on_run_failure(
    context: RunFailureSensorContext, alerts: AlertsResource, warehouse: WarehouseResource
) -> None:
    """Tell a person which job failed, for which pair, at which step or check, why, and
    the run id."""
    run = context.dagster_run
    logs = context.instance.all_logs(run.run_id, of_type=FAILURE_EVENTS)
    where, why = failure_reason(e.dagster_event for e in logs if e.dagster_event is not None)
    pair = run_pair(run.tags, context.instance.get_dynamic_partitions(PAIRS.name))
    notifier(alerts, warehouse)(run_failed(run.job_name, run.run_id, where, why, pair))


RETRAIN_TAG = "fx/trigger"
RETRAIN_TRIGGER = "retrain_on_decay"
REASON_TAG = "fx/retrain_reason"
WATCHED = (
    AssetCheckKey(dg.AssetKey(PERFORMANCE.name), "performance_decay"),
    AssetCheckKey(dg.AssetKey(DRIFT.name), "feature_drift"),
)


def _last_retrain(context: SensorEvaluationContext, pair: str) -> datetime | None:
    records = context.instance.get_run_records(
        filters=RunsFilter(tags={RETRAIN_TAG: RETRAIN_TRIGGER, PARTITION_TAG: pair}),
        limit=1,
    )
    return records[0].create_timestamp if records else None


# Check executions looked at per pair and tick: the checks run once a day per pair, the
# sensor every minute.
HISTORY = 20


def _pair_of(context: SensorEvaluationContext, record: Any) -> str | None:
    """The pair an evaluation was of: its partition, else its run's (a run of one pair).

    Dagster 1.13 records no partition on a check evaluated in a partitioned asset's step
    (the record's partition is None), so the run's partition tag says which pair it was.
    """
    if record.partition:
        return str(record.partition)
    run = context.instance.get_run_by_id(record.run_id)
    return run.tags.get(PARTITION_TAG) if run is not None else None


def _newest_failures(
    context: SensorEvaluationContext, key: AssetCheckKey, after: int, pairs: int
) -> dict[str, int]:
    """Per pair, the id of the newest failed evaluation of ``key`` recorded after ``after``."""
    # Dagster 1.13 has no public query of a check's history; the storage method is not
    # underscored and its records carry the public AssetCheckEvaluation.
    history = context.instance.event_log_storage.get_asset_check_execution_history(
        key, limit=HISTORY * max(pairs, 1)
    )
    out: dict[str, int] = {}
    for r in history:
        if r.id <= after or r.evaluation is None or r.evaluation.passed:
            continue
        pair = _pair_of(context, r)
        if pair is not None:
            out[pair] = max(out.get(pair, 0), r.id)
    return out


def retrain_on_decay_sensor(default_status: DefaultSensorStatus) -> dg.SensorDefinition:
    @sensor(
        name="retrain_on_decay",
        job_name="training_job",
        default_status=default_status,
        minimum_interval_seconds=60,
    )
    def retrain_on_decay(
        context: SensorEvaluationContext, monitoring: MonitoringResource
    ) -> list[RunRequest] | SkipReason:
        """Retrain a pair when its performance_decay or feature_drift newly fired, at most
        every N days per pair; the other pairs' champions are left alone."""
        cursor = int(context.cursor or 0)
        pairs = context.instance.get_dynamic_partitions(PAIRS.name)
        fired: dict[str, list[str]] = {}
        newest: dict[str, int] = {}
        for key in WATCHED:
            for pair, failure in _newest_failures(context, key, cursor, len(pairs)).items():
                fired.setdefault(pair, []).append(key.name)
                newest[pair] = max(newest.get(pair, 0), failure)
        if not fired:
            return SkipReason("neither performance_decay nor feature_drift fired since last look")
        context.update_cursor(str(max(newest.values())))
        wait = timedelta(days=monitoring.retrain_min_days)
        requests, waiting = [], []
        for pair, checks in sorted(fired.items()):
            last = _last_retrain(context, pair)
            if last is not None and datetime.now(UTC) - last < wait:
                waiting.append(
                    f"{pair}: {', '.join(checks)} fired, but training ran on decay at "
                    f"{last:%Y-%m-%d %H:%M} UTC"
                )
                continue
            requests.append(
                RunRequest(
                    run_key=f"retrain:{pair}:{newest[pair]}",
                    partition_key=pair,
                    tags={RETRAIN_TAG: RETRAIN_TRIGGER, REASON_TAG: ",".join(checks)},
                )
            )
        if requests:
            for line in waiting:
                context.log.info(line)
            return requests
        return SkipReason(
            "; ".join(waiting) + f": within FX_RETRAIN_MIN_DAYS={monitoring.retrain_min_days}"
        )

    return retrain_on_decay


@dg.definitions
def monitoring_sensors() -> dg.Definitions:
    """The retrain sensor starts running only with FX_RETRAIN_ON_DECAY=true (or from the UI)."""
    on = load_settings().retrain_on_decay
    status = DefaultSensorStatus.RUNNING if on else DefaultSensorStatus.STOPPED
    return dg.Definitions(sensors=[alert_on_run_failure, retrain_on_decay_sensor(status)])
