"""Sensors: predictions follow every new version of the modelling table."""

from dagster import (
    AssetKey,
    DefaultSensorStatus,
    EventLogEntry,
    RunRequest,
    SensorEvaluationContext,
    asset_sensor,
)

from fx_assets.defs.jobs import predictions_job


@asset_sensor(
    asset_key=AssetKey("eur_usd_final"),
    job=predictions_job,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def predictions_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry) -> RunRequest:
    """Refresh ``eur_usd_predictions`` once per new materialization of ``eur_usd_final``."""
    # One key per materialization (its run and time): a re-evaluated tick never launches a
    # second run for it, and the asset sensor's cursor moves past it afterwards.
    return RunRequest(
        run_key=f"eur_usd_final:{asset_event.run_id}:{asset_event.timestamp}",
        tags={"fx/trigger": "eur_usd_final", "fx/final_run_id": asset_event.run_id},
    )


SENSORS = [predictions_sensor]
