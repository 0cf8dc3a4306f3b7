"""Every pair's features follow each new batch of bars.

A batch of any pair changes the cross-currency features of every pair (the dollar's move
and the momentum ranks read the whole book), so every registered pair is rebuilt, one
run per pair: a pair whose rebuild fails fails alone, and says so.
"""

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    EventLogEntry,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    asset_sensor,
)

from fx_assets.core.contracts import RAW
from fx_assets.defs.inference.sensors import BOOTSTRAP_TAG
from fx_assets.defs.ingestion.partitions import PAIRS
from fx_assets.defs.ingestion.schedules import features_job


@asset_sensor(
    asset_key=AssetKey(RAW.name),
    job=features_job,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def features_sensor(
    context: SensorEvaluationContext, asset_event: EventLogEntry
) -> list[RunRequest] | SkipReason:
    """Rebuild ``fx_staging`` and ``fx_final`` of every pair after a new ``fx_raw`` batch."""
    run = context.instance.get_run_by_id(asset_event.run_id) if asset_event.run_id else None
    if run is not None and BOOTSTRAP_TAG in run.tags:
        return SkipReason(f"{RAW.name} of the first start: the bootstrap sensor goes on")
    pairs = context.instance.get_dynamic_partitions(PAIRS.name)
    if not pairs:
        return SkipReason("no pair registered yet")
    return [
        RunRequest(
            run_key=f"{RAW.name}:{asset_event.run_id}:{pair}",
            partition_key=pair,
            tags={"fx/trigger": RAW.name, "fx/raw_run_id": asset_event.run_id, "fx/pair": pair},
        )
        for pair in pairs
    ]
