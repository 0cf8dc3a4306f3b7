"""``fx run``: the whole asset graph for the book, recorded in the Dagster instance.

The ETL is one run for the book; features, training and forecasts are one run per pair,
pairs side by side up to FX_MAX_PARALLEL (``fx_assets.cli.parallel``). One compact line
per pair per stage; a pair that fails is named and stops alone, and ``fx run`` then ends
with exit code 1 after the others finished.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from dagster import DagsterInstance, Definitions, ExecuteInProcessResult

from fx_assets.cli.errors import PipelineError
from fx_assets.cli.parallel import PairRun, Pairs
from fx_assets.cli.results import read_gaps, read_report
from fx_assets.core.contracts import FINAL, RAW, RAW_REJECTED
from fx_assets.core.reports import (
    BacktestReport,
    BacktestSummaryReport,
    BookReport,
    CandidatesReport,
    ChallengerReport,
    GapsReport,
    PromotionReport,
    RawReport,
    StepReport,
)
from fx_assets.core.training.pooled import POOLED

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
    job_name: str,
    *,
    tags: dict[str, str] | None = None,
    partition_key: str | None = None,
    log_level: str | None = None,
    check: bool = True,
) -> ExecuteInProcessResult:
    """Run ``job_name`` here, recorded in the instance; a failure is announced (as the
    run-failure sensor announces a daemon's) and, with ``check``, raised in a few lines."""
    job = definitions().resolve_job_def(job_name)
    result = job.execute_in_process(
        instance=DagsterInstance.get(),
        tags=tags or {},
        partition_key=partition_key,
        run_config=console_config(log_level),
        raise_on_error=False,
    )
    if not result.success:
        from fx_assets.core.alerts import announce, run_failed
        from fx_assets.defs.monitoring.alerting import failure_reason

        where, why = failure_reason(result.all_events)
        # Told as the run-failure sensor tells it for daemon runs: the same condition, so
        # a daemon watching this instance too does not send it a second time.
        announce(run_failed(job_name, result.run_id, where, why, pair=partition_key))
        if check:
            at = f"{where} for {partition_key}" if partition_key else where
            raise PipelineError(failure_message(job_name, result.run_id, at, why))
    return result


def the_book(pairs: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The pairs to run (``--pair``, else FX_PAIRS), registered as "pair" partitions in the
    book's order; the instance's order after registration decides the ETL's ranges."""
    from fx_assets.core.settings import load_settings
    from fx_assets.defs.ingestion.partitions import register_pairs
    from fx_assets.defs.pools import ensure_pools

    settings = load_settings()
    book = pairs or settings.book
    instance = DagsterInstance.get()
    register_pairs(instance, (*settings.book, *book))
    ensure_pools(instance)
    return book


def _parallel() -> int:
    from fx_assets.core.settings import load_settings

    return load_settings().max_parallel


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


def _blocks(pairs: tuple[str, ...]) -> list[tuple[str, str]]:
    """``pairs`` as runs of neighbours in the instance's partition order: one ETL run each
    (a range is a rectangle of pairs and years)."""
    from fx_assets.defs.ingestion.partitions import PAIRS

    order = DagsterInstance.get().get_dynamic_partitions(PAIRS.name)
    wanted = sorted(pairs, key=order.index)
    blocks: list[list[str]] = []
    for pair in wanted:
        if blocks and order.index(pair) == order.index(blocks[-1][-1]) + 1:
            blocks[-1].append(pair)
        else:
            blocks.append([pair])
    return [(b[0], b[-1]) for b in blocks]


def run_etl(
    echo: Echo,
    log_level: str | None = None,
    pairs: tuple[str, ...] | None = None,
    runner: Pairs | None = None,
) -> tuple[tuple[str, ...], dict[str, str]]:
    """Ingest the book's history (one run per block of neighbouring pairs), then build each
    pair's features; one line per pair. The pairs that made it, and why the others did not
    (a run that failed for no pair in particular stops ``fx run`` here)."""
    from fx_assets.dagster_adapter import partition_range_tags
    from fx_assets.defs.ingestion.partitions import raw_key
    from fx_assets.defs.monitoring.alerting import failed_pairs, failure_reason

    book = the_book(pairs)
    # Asked once: a CSV source reads its whole file to know its first date.
    first = _first_date()
    start, end = etl_range(first)
    echo(
        f"etl: {len(book)} pair(s), trading days from {first}"
        f" (years {start} .. {end}, {len(_blocks(book))} run(s))"
    )
    failures: dict[str, str] = {}
    raw: RawReport | None = None
    gaps: GapsReport | None = None
    for lo, hi in _blocks(book):
        tags = partition_range_tags(str(raw_key(lo, start)), str(raw_key(hi, end)))
        result = execute("etl_job", tags=tags, log_level=log_level, check=False)
        if not result.success:
            where, why = failure_reason(result.all_events)
            failed = failed_pairs(result.all_events)
            if not failed:
                raise PipelineError(failure_message("etl_job", result.run_id, where, why))
            for pair in failed:
                failures[pair] = failure_message(
                    "etl_job", result.run_id, f"{where} for {pair}", why
                )
            continue
        raw, gaps = read_report(result, RawReport), read_gaps(result)
    if raw is not None and raw.ecb_fallback:
        echo(f"  warning: {raw.ecb_fallback}")
    ok = tuple(p for p in book if p not in failures)
    summary = summarize(echo, ok)
    for pair in failures:
        echo(f"  {pair}  failed: its bars were not written (see the end)")
    if raw is not None and raw.has_findings:
        echo(f"  data quality: {raw.data_quality} (table {RAW_REJECTED.name})")
    for pair in ok:
        warning = stale_warning(summary[pair][RAW.name][2])
        if warning:
            echo(warning)
            break
    if gaps is not None and not gaps.passed:
        # Holes in the bars: kept (features span them), but a person should know.
        echo(f"  warning: {gaps.describe()} (check {GapsReport.CHECK})")
    with _runner(runner, ok) as pool:
        features = pool.run("features_job", ok, log_level=log_level)
    for run in features:
        if not run.ok:
            echo(f"  {run.pair}  failed: its features were not built (see the end)")
            failures[run.pair] = run.error or "features failed"
    return tuple(p for p in ok if p not in failures), failures


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


def summarize(echo: Echo, pairs: tuple[str, ...]) -> dict[str, Any]:
    """One line per pair: its bars, quarantined rows and span."""
    from fx_assets.core.readmodel.data import spans
    from fx_assets.core.readmodel.stores import open_warehouse
    from fx_assets.core.settings import load_settings

    wh = open_warehouse(load_settings().warehouse_url)
    summary: dict[str, Any] = {}
    for pair in pairs:
        found = {
            s.table: (s.rows, s.first, s.last) for s in spans(wh, (RAW, RAW_REJECTED), pair=pair)
        }
        summary[pair] = found
        rows, first, last = found[RAW.name]
        echo(
            f"  {pair}  {rows:>6} bars  {first} .. {last}"
            f"  ({found[RAW_REJECTED.name][0]} quarantined)"
        )
    return summary


TRAINING_REPORTS = (
    CandidatesReport,
    ChallengerReport,
    PromotionReport,
    BacktestReport,
    BacktestSummaryReport,
)


def training_line(run: PairRun) -> str:
    """One pair's training in a line: the winner, the decision, the backtest's verdict."""
    candidates = run.report(CandidatesReport)
    challenger = run.report(ChallengerReport)
    decision = run.report(PromotionReport)
    if candidates is None or challenger is None or decision is None:
        return f"  {run.pair}  the run recorded no decision; see run {run.run_id}"
    pooled = candidates.cv_pr_auc.get(POOLED)
    beside = f"pooled {pooled:.4f}, " if pooled is not None and challenger.family != POOLED else ""
    line = (
        f"  {run.pair}  {challenger.family} v{challenger.model_version}"
        f" CV PR-AUC {candidates.best_cv_pr_auc:.4f}"
        f" ({beside}always up {candidates.cv_baseline_pr_auc:.4f});"
        f" {decision.decision}, champion v{decision.champion_version}"
    )
    summary = run.report(BacktestSummaryReport)
    if summary is not None:
        line += (
            f"; backtest {summary.model_accuracy:.1%}"
            f" [{summary.model_accuracy_ci_low:.1%}, {summary.model_accuracy_ci_high:.1%}]"
        )
    return line


def run_training(
    echo: Echo,
    log_level: str | None = None,
    pairs: tuple[str, ...] | None = None,
    runner: Pairs | None = None,
) -> tuple[dict[str, PromotionReport], dict[str, str]]:
    """Per pair: split, cross-validate, tune, register, promote, backtest; a line each.
    The decisions, and why the pairs that failed did."""
    book = the_book(pairs)
    echo(
        f"training: {len(book)} pair(s), {min(_parallel(), len(book))} at a time: split,"
        " cross-validate the candidates, tune the best, register, promote, backtest"
    )
    with _runner(runner, book) as pool:
        runs = pool.run(
            "training_job",
            book,
            log_level=log_level,
            kinds=TRAINING_REPORTS,
            on_done=lambda run: echo(
                training_line(run) if run.ok else f"  {run.pair}  failed (see the end)"
            ),
        )
    decisions = {r.pair: r.report(PromotionReport) for r in runs if r.ok}
    failures = {r.pair: r.error or "training failed" for r in runs if not r.ok}
    return {p: d for p, d in decisions.items() if d is not None}, failures


def forecast_line(pair: str, row: dict[str, Any] | None) -> str:
    from fx_assets.core.models.ranges import caution, from_column
    from fx_assets.core.pairs import Pair

    if row is None:
        return (
            f"  {pair}  no forecast: {FINAL.name} has no row after the champion's training cutoff"
        )
    arrow = "UP" if int(row["direction"]) == 1 else "DOWN"
    return (
        f"  {pair}  forecast for {row['target_date']:%Y-%m-%d}"
        f" (features of {row['feature_date']:%Y-%m-%d}):"
        f" {Pair.parse(pair).label} {arrow}, P(up) = {row['probability_up']:.3f}"
        f" [{row['model_name']} v{row['model_version']}]"
        + (" (stale: that day is past)" if row["target_date"].date() < _today() else "")
        + caution(from_column(row.get("out_of_range")))
    )


def run_predictions(
    echo: Echo,
    log_level: str | None = None,
    pairs: tuple[str, ...] | None = None,
    runner: Pairs | None = None,
) -> tuple[dict[str, dict[str, Any] | None], dict[str, str]]:
    """Per pair: score new feature dates with its champion, then monitor; a line each.
    The newest forecast of each pair, and why the pairs that failed did."""
    from fx_assets.core.readmodel.predictions import newest_forecast
    from fx_assets.core.readmodel.stores import open_warehouse
    from fx_assets.core.settings import load_settings

    book = the_book(pairs)
    echo(f"predictions: {len(book)} pair(s), scoring new feature dates with each champion")
    with _runner(runner, book) as pool:
        runs = pool.run("predictions_job", book, log_level=log_level)
    wh = open_warehouse(load_settings().warehouse_url)
    rows: dict[str, dict[str, Any] | None] = {}
    for run in runs:
        if not run.ok:
            echo(f"  {run.pair}  failed (see the end)")
            continue
        rows[run.pair] = newest_forecast(wh, pair=run.pair)
        echo(forecast_line(run.pair, rows[run.pair]))
        echo_monitoring(echo, run.pair)
    return rows, {r.pair: r.error or "predictions failed" for r in runs if not r.ok}


def _today() -> date:
    return datetime.now(UTC).date()


def echo_monitoring(echo: Echo, pair: str) -> None:
    """What the monitoring step of a pair's predictions run found, in a line or two: the
    stored verdicts, which name the rule that decided with its numbers."""
    from fx_assets.core.monitoring import findings
    from fx_assets.core.readmodel.monitoring import read_monitoring
    from fx_assets.core.readmodel.stores import open_warehouse
    from fx_assets.core.settings import load_settings

    found = read_monitoring(open_warehouse(load_settings().warehouse_url), pair=pair)
    if len(found.drift):
        echo(f"  {pair}  monitoring: {findings.feature_drift(found.drift).summary}")
    if len(found.performance):
        echo(f"  {pair}  monitoring: {findings.performance_decay(found.performance).summary}")


def run_book(echo: Echo, log_level: str | None = None) -> BookReport | None:
    """The book's verdict, adjusted for the number of pairs tested, in a line or two."""
    result = execute("book_job", log_level=log_level)
    report = read_report(result, BookReport)
    if report is None:
        return None
    echo(f"book: {report.headline}")
    cross = report.cross_section
    if "long_short_sharpe" in cross:
        echo(
            f"  illustration, not advice: long the {cross['k']} pairs most likely up, short the"
            f" {cross['k']} least, with costs: Sharpe {cross['long_short_sharpe']:.2f}"
            f" (equal-weight book {cross['equal_weight_sharpe']:.2f})"
        )
    return report


def _runner(runner: Pairs | None, pairs: tuple[str, ...]) -> Any:
    """``runner`` as it is (the caller closes it), or one for this stage alone."""
    return contextlib.nullcontext(runner) if runner is not None else Pairs(_parallel(), len(pairs))


def run_pipeline(
    echo: Echo, log_level: str | None = None, pairs: tuple[str, ...] | None = None
) -> int:
    """ETL (full history of the book), then each pair's training and forecast, then the
    book's verdict. A pair that fails stops alone; ``fx run`` then fails naming it."""
    book = the_book(pairs)
    # One set of processes for every stage: each loads the code location once.
    with Pairs(_parallel(), len(book)) as runner:
        ok, failures = run_etl(echo, log_level, book, runner)
        trained: tuple[str, ...] = ()
        if ok:
            decisions, failed = run_training(echo, log_level, ok, runner)
            failures.update(failed)
            trained = tuple(p for p in ok if p in decisions)
        if trained:
            _rows, failed = run_predictions(echo, log_level, trained, runner)
            failures.update(failed)
    if trained:
        run_book(echo, log_level)
    if len(book) == 1 and failures:
        raise PipelineError(failures[book[0]])
    if failures:
        raise PipelineError(
            f"{len(failures)} of {len(book)} pairs failed: {', '.join(failures)}\n"
            + "\n".join(failures[p] for p in book if p in failures)
        )
    return 0
