"""Predictions follow every new version of the modelling table."""

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultSensorStatus,
    EventLogEntry,
    RunRequest,
    SensorEvaluationContext,
    SkipReason,
    asset_sensor,
    define_asset_job,
    in_process_executor,
)

from fx_assets.core.contracts import FINAL

# The tag the bootstrap sensor (defs/bootstrap) puts on the first start's runs; spelled
# here because that module imports this one's job.
BOOTSTRAP_TAG = "fx/bootstrap"

predictions_job = define_asset_job(
    "predictions_job",
    executor_def=in_process_executor,
    # Monitoring follows every forecast run: drift, realized performance and their checks.
    selection=AssetSelection.groups("inference", "monitoring"),
    description="Forecast the next trading day (and any missed day) with the champion model, "
    "then measure drift and realized performance.",
)


@asset_sensor(
    asset_key=AssetKey(FINAL.name),
    job=predictions_job,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def predictions_sensor(
    context: SensorEvaluationContext, asset_event: EventLogEntry
) -> RunRequest | SkipReason:
    """Refresh ``eur_usd_predictions`` once per new materialization of ``eur_usd_final``."""
    run = context.instance.get_run_by_id(asset_event.run_id) if asset_event.run_id else None
    if run is not None and BOOTSTRAP_TAG in run.tags:
        # The first start's backfill: no champion exists yet; the bootstrap sensor launches
        # the first forecast itself once training has made one.
        return SkipReason(f"{FINAL.name} of the first start: the bootstrap forecasts")
    # One key per materialization (its run and time): a re-evaluated tick never launches a
    # second run for it, and the asset sensor's cursor moves past it afterwards.
    return RunRequest(
        run_key=f"{FINAL.name}:{asset_event.run_id}:{asset_event.timestamp}",
        tags={"fx/trigger": FINAL.name, "fx/final_run_id": asset_event.run_id},
    )
