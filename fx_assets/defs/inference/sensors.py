"""Each pair's predictions follow every new version of that pair's modelling table.

A plain sensor over ``fx_final``'s materializations rather than an ``asset_sensor``: an
asset sensor reads one event per tick (the newest), so when the features runs of seven
pairs finish between two ticks six pairs would get no forecast. This one reads every
event after its cursor and requests one run per pair, for that pair's newest event.
"""

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    AssetSelection,
    DefaultSensorStatus,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    sensor,
)

from fx_assets.core.contracts import FINAL
from fx_assets.defs.ingestion.partitions import PAIRS

# The tag the bootstrap sensor (defs/bootstrap) puts on the first start's runs; spelled
# here because that module imports this one's job.
BOOTSTRAP_TAG = "fx/bootstrap"
# Materializations read per tick: a day's book is a handful; more wait for the next tick.
BATCH = 500

predictions_job = define_asset_job(
    "predictions_job",
    executor_def=in_process_executor,
    # Monitoring follows every forecast run: drift, realized performance and their checks.
    selection=AssetSelection.groups("inference", "monitoring"),
    partitions_def=PAIRS,
    description="Forecast one pair's next trading day (and any missed day) with its champion, "
    "then measure its drift and realized performance.",
)


@sensor(
    job=predictions_job,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def predictions_sensor(context: SensorEvaluationContext) -> list[RunRequest] | SkipReason:
    """Refresh a pair's ``fx_predictions`` once per new materialization of its ``fx_final``."""
    after = int(context.cursor) if context.cursor else None
    found = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(FINAL.name), after_storage_id=after),
        limit=BATCH,
        ascending=True,
    )
    if not found.records:
        return SkipReason(f"no new materialization of {FINAL.name}")
    newest: dict[str, tuple[int, str]] = {}
    for record in found.records:
        event = record.event_log_entry
        pair = record.partition_key
        run = context.instance.get_run_by_id(event.run_id) if event.run_id else None
        if pair is None or (run is not None and BOOTSTRAP_TAG in run.tags):
            # The first start's backfill: no champion exists yet; the bootstrap sensor
            # launches the first forecast itself once training has made one.
            continue
        newest[pair] = (record.storage_id, event.run_id)
    context.update_cursor(str(found.records[-1].storage_id))
    if not newest:
        return SkipReason(f"{FINAL.name} of the first start: the bootstrap forecasts")
    # One key per pair and materialization (its storage id): a re-evaluated tick never
    # launches a second run for it.
    return [
        RunRequest(
            run_key=f"{FINAL.name}:{pair}:{storage_id}",
            partition_key=pair,
            tags={"fx/trigger": FINAL.name, "fx/final_run_id": run_id, "fx/pair": pair},
        )
        for pair, (storage_id, run_id) in newest.items()
    ]
