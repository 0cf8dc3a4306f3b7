"""The daily ETL: the newest completed trading day's year through ``eur_usd_final``."""

from datetime import date

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    define_asset_job,
    in_process_executor,
    schedule,
)

from fx_assets.core.calendar import previous_weekday
from fx_assets.defs.ingestion.partitions import TRADING_YEARS, partition_key_for

# Every job is a chain of steps that cannot run side by side, so a process per step would
# buy no parallelism and pay ~5 s of imports (dagster, mlflow, xgboost) at each step.
etl_job = define_asset_job(
    "etl_job",
    executor_def=in_process_executor,
    selection=AssetSelection.groups("ingestion", "features"),
    partitions_def=TRADING_YEARS,
    description="Ingest trading days of EUR/USD bars and rebuild features and the modelling table.",
)

# 06:30 UTC, Monday to Saturday: after the previous trading day's fixing has been published.
ETL_CRON = "30 6 * * 1-6"


def etl_partition_for(run_date: date) -> str:
    """The partition (year) of the newest completed trading day before ``run_date``.

    That day is Friday on Saturday and on Monday; on 1 or 2 January it may be in last year.
    """
    return partition_key_for(previous_weekday(run_date))


@schedule(
    cron_schedule=ETL_CRON,
    job=etl_job,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
)
def etl_schedule(context: ScheduleEvaluationContext) -> RunRequest:
    """Materialize the newest completed trading day's year through ``eur_usd_final``."""
    run_date = context.scheduled_execution_time.date()
    # One run per trading day: the partition (a year) repeats, so it cannot be the run key.
    day = previous_weekday(run_date).isoformat()
    return RunRequest(
        run_key=day, partition_key=etl_partition_for(run_date), tags={"fx/trading_day": day}
    )
