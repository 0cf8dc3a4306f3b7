"""``fx run``: the whole asset graph, in process, recorded in the Dagster instance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from dagster import DagsterInstance, Definitions, ExecuteInProcessResult
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from fx_assets.cli.errors import PipelineError
from fx_assets.core.contracts import FINAL, PREDICTIONS, RAW, STAGING

Echo = Callable[[str], None]

# Keep the terminal readable: the per-event DEBUG log is in the Dagster UI.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def failure_message(result: ExecuteInProcessResult) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            err = event.step_failure_data.error
            cause = err
            while cause.cause is not None and "Failure" not in cause.cls_name:
                cause = cause.cause
            message = (cause.message or err.message).strip().splitlines()[0]
            if cause.cls_name == "Failure":
                # A Failure's description is the message; drop "dagster...Failure: ".
                message = message.split("Failure: ", 1)[-1]
            return f"step {event.step_key} failed: {message}"
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if data is not None and not data.passed:
                return f"check {data.check_name} failed: {data.description}"
    return "run failed; see the run in the Dagster UI"


def definitions() -> Definitions:
    """The code location's definitions, with resources from the environment as it is now."""
    from fx_assets.definitions import defs

    return defs()


def execute(job_name: str, *, tags: dict[str, str] | None = None) -> ExecuteInProcessResult:
    job = definitions().resolve_job_def(job_name)
    result = job.execute_in_process(
        instance=DagsterInstance.get(),
        tags=tags or {},
        run_config=QUIET,
        raise_on_error=False,
    )
    if not result.success:
        raise PipelineError(f"{job_name}: {failure_message(result)}")
    return result


def _first_date() -> date:
    from fx_assets.core.ingestion.sources import make_source
    from fx_assets.core.settings import load_settings

    settings = load_settings()
    return settings.start_date or make_source(settings.source).first_date()


def etl_range(first: date | None = None) -> tuple[str, str]:
    """Partition keys (years) from ``first`` (default: the source's first bar, or
    FX_START_DATE) to this year."""
    from fx_assets.defs.ingestion.partitions import TRADING_YEARS, partition_key_for

    first = first or _first_date()
    keys = TRADING_YEARS.get_partition_keys(current_time=datetime.now(UTC))
    keys = [k for k in keys if k >= partition_key_for(first)]
    if not keys:
        raise PipelineError(f"no trading day between {first} and today to ingest")
    return keys[0], keys[-1]


def run_etl(echo: Echo) -> dict[str, Any]:
    # Asked once: a CSV source reads its whole file to know its first date.
    first = _first_date()
    start, end = etl_range(first)
    echo(f"etl: ingesting trading days from {first} (years {start} .. {end}, one run)")
    execute(
        "etl_job",
        tags={ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end},
    )
    return summarize(echo)


def summarize(echo: Echo) -> dict[str, Any]:
    from fx_assets.core.settings import load_settings
    from fx_assets.core.warehouse import Warehouse

    wh = Warehouse.cached(load_settings().warehouse_url)
    summary: dict[str, Any] = {}
    for table in (RAW, STAGING, FINAL):
        n = wh.count(table)
        lo, hi = wh.date_range(table)
        summary[table.name] = (n, lo, hi)
        echo(f"  {table.name:<16} {n:>6} rows  {lo} .. {hi}")
    return summary


def _metadata(result: ExecuteInProcessResult, node: str) -> dict[str, Any]:
    found = result.asset_materializations_for_node(node)
    return {k: v.value for k, v in found[-1].metadata.items()} if found else {}


def run_training(echo: Echo) -> dict[str, Any]:
    """Split, cross-validate, tune, register and promote; print the decision."""
    from fx_assets.core.domain import MODEL_NAME

    echo("training: split, cross-validate 3 candidates, tune the best, register, promote")
    result = execute("training_job")
    candidates = _metadata(result, "model_candidates")
    challenger = _metadata(result, "challenger_model")
    decision = _metadata(result, "champion_model")
    scores = ", ".join(
        f"{k.removeprefix('cv_pr_auc_')} {v:.4f}"
        for k, v in candidates.items()
        if k.startswith("cv_pr_auc_")
    )
    echo(
        f"  CV PR-AUC on {candidates['train_rows']} train rows: {scores}"
        f" (always up {candidates['cv_baseline_pr_auc']:.4f})"
    )
    echo(
        f"  challenger v{challenger['model_version']} ({challenger['family']}):"
        f" test PR-AUC {challenger['test_pr_auc']:.4f},"
        f" always-up baseline {challenger['test_baseline_pr_auc']:.4f}"
    )
    echo(f"  decision: {decision['decision']}: {decision['reason']}")
    echo(f"  champion: {MODEL_NAME} v{decision['champion_version']}")
    return decision


def run_predictions(echo: Echo) -> dict[str, Any] | None:
    """Materialize ``eur_usd_predictions`` and print the newest forecast."""
    from fx_assets.core.settings import load_settings
    from fx_assets.core.warehouse import Warehouse

    echo("predictions: scoring new feature dates with the champion")
    execute("predictions_job")
    newest = Warehouse.cached(load_settings().warehouse_url).read(PREDICTIONS, newest=1)
    if newest.empty:
        echo("  no forecast: eur_usd_final has no row after the champion's training cutoff")
        return None
    row = newest.iloc[0].to_dict()
    arrow = "UP" if int(row["direction"]) == 1 else "DOWN"
    echo(
        f"  forecast for {row['target_date']:%Y-%m-%d}"
        f" (features of {row['feature_date']:%Y-%m-%d}):"
        f" EUR/USD {arrow}, P(up) = {row['probability_up']:.3f}"
        f" [{row['model_name']} v{row['model_version']}]"
    )
    return row


def run_pipeline(echo: Echo) -> int:
    """ETL (full history), then the later stages as they are added to the graph."""
    run_etl(echo)
    run_training(echo)
    run_predictions(echo)
    return 0
