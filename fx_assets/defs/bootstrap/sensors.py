"""The first start fills itself: on an empty warehouse, the book's history, a champion
and a forecast per pair, once, without a click; and every pair of FX_PAIRS becomes a
partition, on any tick, so a pair added to a running deployment needs no code change.

Why one sensor that walks the jobs rather than a chain of run-status sensors: the chain
would need the other automation to tell a first start from a normal day, while here every
decision reads the same two facts, the runs this sensor tagged and whether the warehouse
held data before it began. The steps are the ones ``fx run`` takes: the ETL of every pair
and year in one run (a partition range), then per pair the features, the training job
(with the backtest) and the predictions job (with monitoring). A pair whose step failed
stops there and the others go on. Never twice at once: a step is launched only when the
previous one finished, each run with its own run key (Dagster drops a request whose key
it has seen) and a tag the next tick finds while the run is queued. Never again once data
exists: the cursor says ``done`` after the last step, or at once when the warehouse
already held rows at the daemon's first look.
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
from fx_assets.defs.ingestion.partitions import PAIRS, history_range, raw_key, register_pairs
from fx_assets.defs.ingestion.schedules import etl_job, features_job
from fx_assets.defs.pools import ensure_pools
from fx_assets.defs.resources import MarketDataResource, ModelServiceResource, WarehouseResource
from fx_assets.defs.training.schedules import training_job

DONE = "done"
FINISHED = {DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED}
# Steps run once for the book (one run); the others once per pair (one run each).
BOOK_STEPS = {"etl_job"}


def _request(step: str, pair: str | None = None, tags: dict[str, str] | None = None) -> RunRequest:
    key = f"bootstrap:{step}" + (f":{pair}" if pair else "")
    return RunRequest(
        job_name=step,
        run_key=key,
        partition_key=pair,
        tags={BOOTSTRAP_TAG: step, **({"fx/pair": pair} if pair else {}), **(tags or {})},
    )


def _etl_request(
    market_data: MarketDataResource, pairs: list[str], now: datetime, step: str = "etl_job"
) -> RunRequest | SkipReason:
    """The ETL over the whole history of ``pairs``, from FX_START_DATE or the source's first
    bar: one run for the rectangle of pairs and years."""
    start = market_data.start_date
    first = datetime.fromisoformat(start).date() if start else market_data.client().first_date()
    years = history_range(first, now)
    if years is None:
        return SkipReason(f"no trading day between {first} and today to ingest")
    tags = partition_range_tags(str(raw_key(pairs[0], years[0])), str(raw_key(pairs[-1], years[1])))
    return _request(step, tags=tags)


def _register(context: SensorEvaluationContext) -> list[str]:
    """FX_PAIRS' pairs added to the "pair" partitions (a new one on any tick); the new ones."""
    ensure_pools(context.instance)
    return register_pairs(context.instance, load_settings().book)


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


def _step_state(records: list[RunRecord]) -> tuple[str, list[str], RunRecord]:
    """A step's runs as one status (queued, started, success, failure), the pairs whose run
    succeeded, and the run a person should look at first."""
    runs = [r.dagster_run for r in records]
    shown = next((r for r in records if r.dagster_run.status not in FINISHED), records[0])
    if any(run.status not in FINISHED for run in runs):
        return shown.dagster_run.status.value.lower(), [], shown
    ok = [run.tags.get("fx/pair", "") for run in runs if run.status == DagsterRunStatus.SUCCESS]
    failed = next((r for r in records if r.dagster_run.status != DagsterRunStatus.SUCCESS), None)
    return ("success" if failed is None else "failure"), ok, failed or shown


@sensor(
    name="bootstrap",
    jobs=[etl_job, features_job, training_job, predictions_job],
    default_status=DefaultSensorStatus.RUNNING,
    # Each step waits for the next tick: a short interval keeps the first start quick, and
    # once done a tick returns after registering any new pair.
    minimum_interval_seconds=10,
)
def bootstrap_sensor(
    context: SensorEvaluationContext,
    warehouse: WarehouseResource,
    market_data: MarketDataResource,
    model_service: ModelServiceResource,
) -> RunRequest | list[RunRequest] | SkipReason:
    """Register FX_PAIRS as partitions; on an empty warehouse, once: backfill the book's
    history, build features, train and forecast every pair (FX_BOOTSTRAP)."""
    new = _register(context)
    if context.cursor == DONE:
        if new and load_settings().bootstrap:
            # A pair added to a running deployment: its history now, its features through
            # the features sensor, its first champion at the weekly training (or fx run).
            request = _etl_request(market_data, new, datetime.now(UTC), "etl_job")
            if isinstance(request, RunRequest):
                return RunRequest(
                    job_name=request.job_name,
                    run_key=f"{request.run_key}:added:{','.join(new)}",
                    tags={"fx/added_pairs": ",".join(new), **partition_tags(request)},
                )
        return SkipReason("the first start is behind us")
    if not load_settings().bootstrap:
        return SkipReason("FX_BOOTSTRAP is false: a person starts the first runs")
    wh = warehouse.get()
    now = datetime.now(UTC)
    pairs = context.instance.get_dynamic_partitions(PAIRS.name)
    records: dict[str, list[RunRecord]] = {}
    for step in STEPS:
        found = context.instance.get_run_records(RunsFilter(tags={BOOTSTRAP_TAG: step}))
        if found:
            records[step] = list(found)
    if not records:
        if wh.count(RAW):
            context.update_cursor(DONE)
            return SkipReason(f"{RAW.name} holds data: nothing to bootstrap")
        request = _etl_request(market_data, pairs, now)
        if isinstance(request, RunRequest):
            record_step(wh, STEPS[0], None, "launching", None, now)
        return request

    step = next(s for s in reversed(STEPS) if s in records)
    status, ok, shown = _step_state(records[step])
    run = shown.dagster_run
    seen = bootstrap_status(wh)
    if seen is None or (seen.step, seen.run_id, seen.status) != (step, run.run_id, status):
        started = shown.start_time
        when = datetime.fromtimestamp(started, UTC) if started else None
        record_step(wh, step, run.run_id, status, when, now)
    if status not in ("success", "failure"):
        return SkipReason(f"the {LABELS[step]} (run {run.run_id}) is {status}")
    going = pairs if step in BOOK_STEPS else [p for p in ok if p]
    if not going:
        context.update_cursor(DONE)
        return SkipReason(f"the {LABELS[step]} (run {run.run_id}) ended {status}: a person decides")
    if step == STEPS[-1]:
        context.update_cursor(DONE)
        return SkipReason("the first start is done")
    nxt = STEPS[STEPS.index(step) + 1]
    if nxt == "predictions_job" and not _champion_served(model_service):
        return SkipReason("waiting for the model service to load the first champions")
    record_step(wh, nxt, None, "launching", None, now)
    # A pair whose step failed stops there; the others go on.
    return [_request(nxt, pair) for pair in going]


def partition_tags(request: RunRequest) -> dict[str, str]:
    return {k: v for k, v in request.tags.items() if k.startswith("dagster/asset_partition")}
