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
from fx_assets.core.contracts import FINAL, PREDICTIONS, RAW, RAW_REJECTED, STAGING

Echo = Callable[[str], None]

# Dagster's console log (about 70 lines for a failed step, stack traces included) is shown
# only with --verbose or FX_LOG_LEVEL; every event stays in the instance for the UI.
SILENT = "CRITICAL"
# Offending dates and reasons can be long: enough for a person to act, not a screenful.
REASON_CHARS = 600


def console_config(log_level: str | None) -> dict[str, Any]:
    level = (log_level or SILENT).upper()
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def _secrets() -> list[str | None]:
    from fx_assets.core.settings import Settings, load_settings

    settings = load_settings()
    return [
        Settings.secret(getattr(settings, name))
        for name in ("twelvedata_api_key", "api_token", "alert_webhook_url", "smtp_password")
    ]


def _failure(result: ExecuteInProcessResult) -> tuple[str, str]:
    """(what failed, why): the first failed step, else the first failed blocking check."""
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
            elif cause.cls_name:
                message = f"{cause.cls_name}: {message.split(': ', 1)[-1]}"
            return f"step {event.step_key}", message
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            data = event.event_specific_data
            if data is not None and not data.passed and data.severity.value == "ERROR":
                return f"check {data.check_name}", str(data.description or "failed")
    return "the run", "see the run in the Dagster UI"


def failure_reason(result: ExecuteInProcessResult) -> tuple[str, str]:
    """(step or check, reason): one line, secrets redacted, bounded."""
    from fx_assets.core.redaction import redact_text

    where, why = _failure(result)
    why = redact_text(" ".join(why.split()), _secrets())
    if len(why) > REASON_CHARS:
        why = why[: REASON_CHARS - 3] + "..."
    return where, why


def failure_message(job_name: str, result: ExecuteInProcessResult) -> str:
    """A few lines: the job and step or check, the reason (no secret), the run id."""
    where, why = failure_reason(result)
    return (
        f"{job_name} failed at {where}\n"
        f"  reason: {why}\n"
        f"  run id: {result.run_id} (full logs: fx run --verbose, or the run in the Dagster UI)"
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
        where, why = failure_reason(result)
        alert_failure(job_name, result.run_id, f"{where} failed: {why}")
        raise PipelineError(failure_message(job_name, result))
    return result


def alert_failure(job_name: str, run_id: str, reason: str) -> None:
    """Tell a person, as the run-failure sensor does for daemon runs: the same condition,
    so a daemon watching this instance too does not send it a second time."""
    from fx_assets.core.alerts import AlertConfig, Notifier, run_failed
    from fx_assets.core.settings import load_settings
    from fx_assets.core.warehouse import Warehouse

    settings = load_settings()
    config = AlertConfig.from_settings(settings)
    if not config.channels():
        return
    where, _, why = reason.partition(" failed: ")
    engine = Warehouse.cached(settings.warehouse_url).engine
    Notifier(config, engine).send(run_failed(job_name, run_id, where, why or reason))


def _first_date() -> date:
    from fx_assets.core.ingestion.catalog import make_source
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


def run_etl(echo: Echo, log_level: str | None = None) -> dict[str, Any]:
    # Asked once: a CSV source reads its whole file to know its first date.
    first = _first_date()
    start, end = etl_range(first)
    echo(f"etl: ingesting trading days from {first} (years {start} .. {end}, one run)")
    result = execute(
        "etl_job",
        tags={ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end},
        log_level=log_level,
    )
    raw = _raw_metadata(result)
    if raw.get("ecb_fallback"):
        echo(f"  warning: {raw['ecb_fallback']}")
    summary = summarize(echo)
    if raw.get("quarantined") or any(k.startswith("warn_") for k in raw):
        echo(f"  data quality: {raw['data_quality']} (table {RAW_REJECTED.name})")
    warning = stale_warning(summary[RAW.name][2])
    if warning:
        echo(warning)
    for check in result.get_asset_check_evaluations():
        # Holes in the bars: kept (features span them), but a person should know.
        if check.check_name == "eur_usd_raw_gaps" and not check.passed:
            echo(f"  warning: {check.description} (check eur_usd_raw_gaps)")
    return summary


def _raw_metadata(result: ExecuteInProcessResult) -> dict[str, Any]:
    """eur_usd_raw's metadata (its node also materializes the rejects)."""
    for m in result.asset_materializations_for_node(RAW.name):
        if m.asset_key.to_user_string() == RAW.name:
            return {k: v.value for k, v in m.metadata.items()}
    return {}


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


def run_training(echo: Echo, log_level: str | None = None) -> dict[str, Any]:
    """Split, cross-validate, tune, register and promote; print the decision."""
    from fx_assets.core.domain import MODEL_NAME

    echo(
        "training: split, cross-validate 3 candidates, tune the best, register, promote,"
        " backtest the champion"
    )
    result = execute("training_job", log_level=log_level)
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
    from fx_assets.cli.evaluation import report_backtest

    report_backtest(echo, result)  # the training job ends with the backtest
    return decision


def run_predictions(echo: Echo, log_level: str | None = None) -> dict[str, Any] | None:
    """Materialize ``eur_usd_predictions`` and print the newest forecast."""
    from fx_assets.core.models.ranges import caution, from_column
    from fx_assets.core.settings import load_settings
    from fx_assets.core.warehouse import Warehouse

    echo("predictions: scoring new feature dates with the champion")
    execute("predictions_job", log_level=log_level)
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
        + (" (stale: that day is past)" if row["target_date"].date() < _today() else "")
        + caution(from_column(row.get("out_of_range")))
    )
    echo_monitoring(echo)
    return row


def _today() -> date:
    return datetime.now(UTC).date()


def echo_monitoring(echo: Echo) -> None:
    """What the monitoring step of the predictions run found, in two lines."""
    from fx_assets.core.contracts import DRIFT, PERFORMANCE
    from fx_assets.core.monitoring import findings
    from fx_assets.core.monitoring.store import newest_rows
    from fx_assets.core.settings import load_settings
    from fx_assets.core.warehouse import Warehouse

    wh = Warehouse.cached(load_settings().warehouse_url)
    drift, perf = newest_rows(wh, DRIFT), newest_rows(wh, PERFORMANCE)
    if len(drift):
        echo(f"  monitoring: {findings.feature_drift(drift).summary}")
    if len(perf):
        echo(f"  monitoring: {findings.performance_decay(perf).summary}")


def run_pipeline(echo: Echo, log_level: str | None = None) -> int:
    """ETL (full history), then the later stages as they are added to the graph."""
    run_etl(echo, log_level)
    run_training(echo, log_level)
    run_predictions(echo, log_level)
    return 0
