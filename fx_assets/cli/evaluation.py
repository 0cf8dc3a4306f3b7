"""``fx run``'s lines about the backtest: the verdict, in one place for the command line."""

from __future__ import annotations

from collections.abc import Callable

from dagster import ExecuteInProcessResult

from fx_assets.cli.results import read_report
from fx_assets.core.reports import BacktestReport, BacktestSummaryReport

Echo = Callable[[str], None]


def report_backtest(
    echo: Echo, result: ExecuteInProcessResult
) -> tuple[BacktestReport, BacktestSummaryReport] | None:
    """Print the backtest's span and verdict from a training run's result; its reports."""
    rows = read_report(result, BacktestReport)
    summary = read_report(result, BacktestSummaryReport)
    if rows is None or summary is None:
        echo(
            "  backtest: skipped (the history is shorter than FX_BACKTEST_MIN_TRAIN_DAYS"
            " plus the gap)"
        )
        return None
    low, high = summary.model_accuracy_ci_low, summary.model_accuracy_ci_high
    echo(
        f"  backtest of v{rows.champion_version} ({rows.family}):"
        f" {rows.days} days {rows.first_date} .. {rows.last_date},"
        f" {rows.refits} refits; accuracy {summary.model_accuracy:.1%}"
        f" (95 % CI {low:.1%}..{high:.1%})"
    )
    echo(f"  verdict: {summary.verdict}")
    return rows, summary
