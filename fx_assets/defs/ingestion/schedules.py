"""The daily ETL: the newest completed trading day's year of every pair into ``fx_raw``;
the features sensor then rebuilds each pair's features and modelling table."""

from datetime import date

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    in_process_executor,
    schedule,
)

from fx_assets.core.calendar import previous_weekday
from fx_assets.dagster_adapter import partition_range_tags
from fx_assets.defs.ingestion.partitions import PAIR_YEARS, PAIRS, partition_key_for, raw_key

# Every job is a chain of steps that cannot run side by side, so a process per step would
# buy no parallelism and pay ~5 s of imports (dagster, mlflow, xgboost) at each step.
etl_job = define_asset_job(
    "etl_job",
    executor_def=in_process_executor,
    selection=AssetSelection.groups("ingestion"),
    partitions_def=PAIR_YEARS,
    description="Ingest trading days of the book's bars (pairs x years, one run for a range).",
)

features_job = define_asset_job(
    "features_job",
    executor_def=in_process_executor,
    selection=AssetSelection.groups("features"),
    partitions_def=PAIRS,
    description="Rebuild one pair's features (its own and the book's) and its modelling table.",
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
def etl_schedule(context: ScheduleEvaluationContext) -> RunRequest | SkipReason:
    """Materialize the newest completed trading day's year of every pair, in one run."""
    run_date = context.scheduled_execution_time.date()
    pairs = context.instance.get_dynamic_partitions(PAIRS.name)
    if not pairs:
        return SkipReason("no pair registered yet: the bootstrap sensor adds FX_PAIRS")
    # One run per trading day: the partition (a year) repeats, so it cannot be the run key.
    day = previous_weekday(run_date).isoformat()
    year = etl_partition_for(run_date)
    # A range of pairs in one year: one run, one source request per pair.
    return RunRequest(
        run_key=day,
        tags={
            "fx/trading_day": day,
            **partition_range_tags(str(raw_key(pairs[0], year)), str(raw_key(pairs[-1], year))),
        },
    )
