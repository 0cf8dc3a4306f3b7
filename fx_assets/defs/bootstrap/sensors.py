"""The first start fills itself: on an empty warehouse, the history, a champion and a
forecast, once, without a click.

Why one sensor that walks three jobs rather than a chain of run-status sensors: the
chain would need the other automation to tell a first start from a normal day, while
here every decision reads the same two facts, the runs this sensor tagged and whether
the warehouse held data before it began. The steps are the ones ``fx run`` takes: the
ETL over every year in one run (a partition range), the training job (with the
backtest), the predictions job (with monitoring). Never twice at once: a step is launched
only when the previous one succeeded, each with its own run key (Dagster drops a
request whose key it has seen) and a tag the next tick finds while the run is queued.
Never again once data exists: the cursor says ``done`` after the last step, or at once
when the warehouse already held rows at the daemon's first look.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRecord,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SkipReason,
    sensor,
)

from fx_assets.core.bootstrap import LABELS, STEPS, bootstrap_status, record_step
from fx_assets.core.contracts import RAW
from fx_assets.core.models.champion import ChampionError
from fx_assets.core.models.inference import ServiceScorer, ServiceUnavailableError
from fx_assets.core.settings import load_settings
from fx_assets.dagster_adapter import partition_range_tags
from fx_assets.defs.inference.sensors import BOOTSTRAP_TAG, predictions_job
from fx_assets.defs.ingestion.partitions import history_range
from fx_assets.defs.ingestion.schedules import etl_job
from fx_assets.defs.resources import MarketDataResource, ModelServiceResource, WarehouseResource
from fx_assets.defs.training.schedules import training_job

DONE = "done"
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}


def _request(step: str, tags: dict[str, str] | None = None) -> RunRequest:
    return RunRequest(
        job_name=step, run_key=f"bootstrap:{step}", tags={BOOTSTRAP_TAG: step, **(tags or {})}
    )


def _first_request(market_data: MarketDataResource, now: datetime) -> RunRequest | SkipReason:
    """The ETL over the whole history, from FX_START_DATE or the source's first bar."""
    start = market_data.start_date
    first = datetime.fromisoformat(start).date() if start else market_data.client().first_date()
    years = history_range(first, now)
    if years is None:
        return SkipReason(f"no trading day between {first} and today to ingest")
    return _request("etl_job", partition_range_tags(*years))


def _champion_served(model_service: ModelServiceResource) -> bool:
    """Whether the forecast can run: in process it loads the champion itself; the model
    service must have picked up the new champion first (it checks every few seconds)."""
    if not model_service.url:
        return True
    scorer = ServiceScorer(model_service.url, model_service.token)
    try:
        scorer.model()
    except (ChampionError, ServiceUnavailableError):
        return False
    finally:
        scorer.close()
    return True


@sensor(
    name="bootstrap",
    jobs=[etl_job, training_job, predictions_job],
    default_status=DefaultSensorStatus.RUNNING,
    # Each step waits for the next tick: a short interval keeps the first start quick, and
    # once done a tick returns at its first line.
    minimum_interval_seconds=10,
)
def bootstrap_sensor(
    context: SensorEvaluationContext,
    warehouse: WarehouseResource,
    market_data: MarketDataResource,
    model_service: ModelServiceResource,
) -> RunRequest | SkipReason:
    """On an empty warehouse, once: backfill the history, train, forecast (FX_BOOTSTRAP)."""
    if context.cursor == DONE:
        return SkipReason("the first start is behind us")
    if not load_settings().bootstrap:
        return SkipReason("FX_BOOTSTRAP is false: a person starts the first runs")
    wh = warehouse.get()
    now = datetime.now(UTC)
    records: dict[str, RunRecord] = {}
    for step in STEPS:
        found = context.instance.get_run_records(RunsFilter(tags={BOOTSTRAP_TAG: step}), limit=1)
        if found:
            records[step] = found[0]
    launched = list(records)
    if not launched:
        if wh.count(RAW):
            context.update_cursor(DONE)
            return SkipReason(f"{RAW.name} holds data: nothing to bootstrap")
        request = _first_request(market_data, now)
        if isinstance(request, RunRequest):
            record_step(wh, STEPS[0], None, "launching", None, now)
        return request

    step = launched[-1]
    run = records[step].dagster_run
    status = run.status.value.lower()
    started = records[step].start_time
    seen = bootstrap_status(wh)
    if seen is None or (seen.step, seen.run_id, seen.status) != (step, run.run_id, status):
        when = datetime.fromtimestamp(started, UTC) if started else None
        record_step(wh, step, run.run_id, status, when, now)
    if run.status not in FINISHED:
        return SkipReason(f"the {LABELS[step]} (run {run.run_id}) is {status}")
    if run.status != DagsterRunStatus.SUCCESS:
        context.update_cursor(DONE)
        return SkipReason(f"the {LABELS[step]} (run {run.run_id}) ended {status}: a person decides")
    if step == STEPS[-1]:
        context.update_cursor(DONE)
        return SkipReason("the first start is done")
    nxt = STEPS[STEPS.index(step) + 1]
    if nxt == "predictions_job" and not _champion_served(model_service):
        return SkipReason("waiting for the model service to load the first champion")
    record_step(wh, nxt, None, "launching", None, now)
    return _request(nxt)
