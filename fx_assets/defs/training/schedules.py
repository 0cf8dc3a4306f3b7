"""The weekly training, per pair: split, candidates, tuning, promotion (and what evaluates it)."""

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
)
from dagster_mlflow import end_mlflow_on_run_finished

from fx_assets.defs.ingestion.partitions import PAIRS

training_job = define_asset_job(
    "training_job",
    # No executor of its own: FX_EXECUTOR's (fx_assets/defs/execution.py), in process by
    # default, the Celery workers in the deployment.
    # One run per pair: a pair whose training fails fails alone, and its run names it.
    partitions_def=PAIRS,
    # The backtest of the (possibly new) champion runs after the promotion, in the same run:
    # its MLflow run nests under the training's parent run.
    selection=AssetSelection.groups("training", "evaluation"),
    description=(
        "For one pair: split, cross-validate three families, tune the best, register it,"
        " promote or not; then walk the champion's recipe forward over the history and"
        " judge its skill."
    ),
    # The deployed run queue (dagster.yaml) runs at most two fx/pool=training runs at once,
    # and one run per pair (dagster/partition): two trainings of one pair never overlap.
    tags={"fx/pool": "training"},
    # Ends dagster-mlflow's parent run when the job's last step finishes.
    hooks={end_mlflow_on_run_finished},
)

# Sunday 07:00 UTC: no fixing is published on a weekend, so the week's data is complete.
TRAINING_CRON = "0 7 * * 0"


@schedule(
    cron_schedule=TRAINING_CRON,
    job=training_job,
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.RUNNING,
)
def training_schedule(context: ScheduleEvaluationContext) -> list[RunRequest] | SkipReason:
    """Retrain every registered pair on its newest modelling table, one run per pair."""
    pairs = context.instance.get_dynamic_partitions(PAIRS.name)
    if not pairs:
        return SkipReason("no pair registered yet")
    week = context.scheduled_execution_time.date().isoformat()
    return [
        RunRequest(run_key=f"{week}:{pair}", partition_key=pair, tags={"fx/pair": pair})
        for pair in pairs
    ]
