"""``fx run``: the whole asset graph, in process, recorded in the Dagster instance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from dagster import DagsterInstance, Definitions, ExecuteInProcessResult

from fx_assets.cli.errors import PipelineError
from fx_assets.cli.results import read_gaps, read_report
from fx_assets.core.contracts import RAW, RAW_REJECTED
from fx_assets.core.reports import (
    CandidatesReport,
    ChallengerReport,
    GapsReport,
    PromotionReport,
    RawReport,
    StepReport,
)

Echo = Callable[[str], None]
R = TypeVar("R", bound=StepReport)

# Dagster's console log (about 70 lines for a failed step, stack traces included) is shown
# only with --verbose or FX_LOG_LEVEL; every event stays in the instance for the UI.
SILENT = "CRITICAL"


def console_config(log_level: str | None) -> dict[str, Any]:
    level = (log_level or SILENT).upper()
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def failure_message(job_name: str, run_id: str, where: str, why: str) -> str:
    """A few lines: the job and step or check, the reason (no secret), the run id."""
    return (
        f"{job_name} failed at {where}\n"
        f"  reason: {why}\n"
        f"  run id: {run_id} (full logs: fx run --verbose, or the run in the Dagster UI)"
    )


def definitions() -> Definitions:
    """The code location's definitions, with resources from the environment as it is now."""
    from fx_assets.definitions import defs

    return defs()


def execute(
    job_name: str, *, tags: dict[str, str] | None = None, log_level: str | None = None
) -> ExecuteInProcessResult:
    job = definitions().resolve_job_def(job_name)
    result = job.execute_in_process(
        instance=DagsterInstance.get(),
        tags=tags or {},
        run_config=console_config(log_level),
        raise_on_error=False,
    )
    if not result.success:
        from fx_assets.core.alerts import announce, run_failed
        from fx_assets.defs.monitoring.alerting import failure_reason

        where, why = failure_reason(result.all_events)
        # Told as the run-failure sensor tells it for daemon runs: the same condition, so
        # a daemon watching this instance too does not send it a second time.
        announce(run_failed(job_name, result.run_id, where, why))
        raise PipelineError(failure_message(job_name, result.run_id, where, why))
    return result


def _first_date() -> date:
    from fx_assets.core.ingestion.catalog import make_source
    from fx_assets.core.settings import load_settings

    settings = load_settings()
    return settings.start_date or make_source(settings.source).first_date()


def etl_range(first: date | None = None) -> tuple[str, str]:
    """Partition keys (years) from ``first`` (default: the source's first bar, or
    FX_START_DATE) to this year."""
    from fx_assets.defs.ingestion.partitions import history_range

    first = first or _first_date()
    years = history_range(first, datetime.now(UTC))
    if years is None:
        raise PipelineError(f"no trading day between {first} and today to ingest")
    return years


def run_etl(echo: Echo, log_level: str | None = None) -> dict[str, Any]:
    from fx_assets.dagster_adapter import partition_range_tags

    # Asked once: a CSV source reads its whole file to know its first date.
    first = _first_date()
    start, end = etl_range(first)
    echo(f"etl: ingesting trading days from {first} (years {start} .. {end}, one run)")
    result = execute("etl_job", tags=partition_range_tags(start, end), log_level=log_level)
    raw = read_report(result, RawReport)
    if raw is not None and raw.ecb_fallback:
        echo(f"  warning: {raw.ecb_fallback}")
    summary = summarize(echo)
    if raw is not None and raw.has_findings:
        echo(f"  data quality: {raw.data_quality} (table {RAW_REJECTED.name})")
    warning = stale_warning(summary[RAW.name][2])
    if warning:
        echo(warning)
    gaps = read_gaps(result)
    if gaps is not None and not gaps.passed:
        # Holes in the bars: kept (features span them), but a person should know.
        echo(f"  warning: {gaps.describe()} (check {GapsReport.CHECK})")
    return summary


def stale_warning(newest: date | None, today: date | None = None) -> str | None:
    """One line when the newest bar is behind, saying how to get current data."""
    from fx_assets.core.ingestion.freshness import freshness
    from fx_assets.core.settings import load_settings

    settings = load_settings()
    fresh = freshness(newest, today or _today(), settings.stale_after_days)
    if not fresh.stale or newest is None:
        return None
    how = (
        "FX_SOURCE=ecb-live (the ECB's current file, no key) or FX_SOURCE=twelvedata"
        " with TWELVEDATA_API_KEY"
    )
    if settings.source == "ecb-live":
        how = "check the network or FX_ECB_URL (the ECB publishes after 16:00 CET)"
    return (
        f"  warning: data is stale: newest bar {newest} is {fresh.behind} trading day(s)"
        f" behind {fresh.expected}; forecasts are for a day already past; for current data"
        f" use {how}"
    )


def summarize(echo: Echo) -> dict[str, Any]:
    from fx_assets.core.readmodel.data import spans
    from fx_assets.core.readmodel.stores import open_warehouse
    from fx_assets.core.settings import load_settings

    summary: dict[str, Any] = {}
    for span in spans(open_warehouse(load_settings().warehouse_url)):
        summary[span.table] = (span.rows, span.first, span.last)
        echo(f"  {span.table:<16} {span.rows:>6} rows  {span.first} .. {span.last}")
    return summary


def _report(result: ExecuteInProcessResult, kind: type[R]) -> R:
    found = read_report(result, kind)
    if found is None:  # a successful training run materializes every step
        raise PipelineError(f"the run recorded no {kind.ASSET}; see run {result.run_id}")
    return found


def run_training(echo: Echo, log_level: str | None = None) -> PromotionReport:
    """Split, cross-validate, tune, register and promote; print the decision."""
    from fx_assets.cli.evaluation import report_backtest
    from fx_assets.core.domain import MODEL_NAME

    echo(
        "training: split, cross-validate 3 candidates, tune the best, register, promote,"
        " backtest the champion"
    )
    result = execute("training_job", log_level=log_level)
    candidates = _report(result, CandidatesReport)
    challenger = _report(result, ChallengerReport)
    decision = _report(result, PromotionReport)
    scores = ", ".join(f"{family} {s:.4f}" for family, s in candidates.cv_pr_auc.items())
    echo(
        f"  CV PR-AUC on {candidates.train_rows} train rows: {scores}"
        f" (always up {candidates.cv_baseline_pr_auc:.4f})"
    )
    echo(
        f"  challenger v{challenger.model_version} ({challenger.family}):"
        f" test PR-AUC {challenger.test_pr_auc:.4f},"
        f" always-up baseline {challenger.test_baseline_pr_auc:.4f}"
    )
    echo(f"  decision: {decision.decision}: {decision.reason}")
    echo(f"  champion: {MODEL_NAME} v{decision.champion_version}")
    report_backtest(echo, result)  # the training job ends with the backtest
    return decision


def run_predictions(echo: Echo, log_level: str | None = None) -> dict[str, Any] | None:
    """Materialize ``eur_usd_predictions`` and print the newest forecast."""
    from fx_assets.core.models.ranges import caution, from_column
    from fx_assets.core.readmodel.predictions import newest_forecast
    from fx_assets.core.readmodel.stores import open_warehouse
    from fx_assets.core.settings import load_settings

    echo("predictions: scoring new feature dates with the champion")
    execute("predictions_job", log_level=log_level)
    row = newest_forecast(open_warehouse(load_settings().warehouse_url))
    if row is None:
        echo("  no forecast: eur_usd_final has no row after the champion's training cutoff")
        return None
    arrow = "UP" if int(row["direction"]) == 1 else "DOWN"
    echo(
        f"  forecast for {row['target_date']:%Y-%m-%d}"
        f" (features of {row['feature_date']:%Y-%m-%d}):"
        f" EUR/USD {arrow}, P(up) = {row['probability_up']:.3f}"
        f" [{row['model_name']} v{row['model_version']}]"
        + (" (stale: that day is past)" if row["target_date"].date() < _today() else "")
        + caution(from_column(row.get("out_of_range")))
    )
    echo_monitoring(echo)
    return row


def _today() -> date:
    return datetime.now(UTC).date()


def echo_monitoring(echo: Echo) -> None:
    """What the monitoring step of the predictions run found, in two lines: the stored
    verdicts, which name the rule that decided with its numbers."""
    from fx_assets.core.monitoring import findings
    from fx_assets.core.readmodel.monitoring import read_monitoring
    from fx_assets.core.readmodel.stores import open_warehouse
    from fx_assets.core.settings import load_settings

    found = read_monitoring(open_warehouse(load_settings().warehouse_url))
    if len(found.drift):
        echo(f"  monitoring: {findings.feature_drift(found.drift).summary}")
    if len(found.performance):
        echo(f"  monitoring: {findings.performance_decay(found.performance).summary}")


def run_pipeline(echo: Echo, log_level: str | None = None) -> int:
    """ETL (full history), then the later stages as they are added to the graph."""
    run_etl(echo, log_level)
    run_training(echo, log_level)
    run_predictions(echo, log_level)
    return 0
