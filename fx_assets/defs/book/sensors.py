"""The book's verdict follows every pair's new backtest summary."""

from dagster import (
    AssetKey,
    AssetSelection,
    DefaultSensorStatus,
    EventLogEntry,
    RunRequest,
    SensorEvaluationContext,
    asset_sensor,
    define_asset_job,
    in_process_executor,
)

from fx_assets.core.contracts import BACKTEST_SUMMARY

book_job = define_asset_job(
    "book_job",
    executor_def=in_process_executor,
    selection=AssetSelection.groups("book"),
    description="Judge the book: each pair's backtest skill, adjusted for testing many.",
)


@asset_sensor(
    asset_key=AssetKey(BACKTEST_SUMMARY.name),
    job=book_job,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)
def book_sensor(context: SensorEvaluationContext, asset_event: EventLogEntry) -> RunRequest:
    """Rejudge the book after a pair's backtest summary changed (one run per change; the
    weekly training of seven pairs makes seven cheap runs, the last one the week's)."""
    return RunRequest(
        run_key=f"{BACKTEST_SUMMARY.name}:{asset_event.run_id}:{asset_event.timestamp}",
        tags={"fx/trigger": BACKTEST_SUMMARY.name},
    )
