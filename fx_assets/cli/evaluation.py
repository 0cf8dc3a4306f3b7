"""``fx run``'s lines about the backtest: the verdict, in one place for the command line."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Echo = Callable[[str], None]


def _metadata(result: Any, node: str, asset: str) -> dict[str, Any] | None:
    for event in reversed(result.asset_materializations_for_node(node)):
        if event.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in event.metadata.items()}
    return None


def report_backtest(echo: Echo, result: Any) -> dict[str, Any] | None:
    """Print the backtest's span and verdict from a training run's result; its metadata."""
    rows = _metadata(result, "eur_usd_backtest", "eur_usd_backtest")
    summary = _metadata(result, "eur_usd_backtest_summary", "eur_usd_backtest_summary")
    if rows is None or summary is None:
        echo(
            "  backtest: skipped (the history is shorter than FX_BACKTEST_MIN_TRAIN_DAYS"
            " plus the gap)"
        )
        return None
    low, high = summary["model_accuracy_ci_low"], summary["model_accuracy_ci_high"]
    echo(
        f"  backtest of v{rows['champion_version']} ({rows['family']}):"
        f" {rows['dagster/row_count']} days {rows['first_date']} .. {rows['last_date']},"
        f" {rows['refits']} refits; accuracy {summary['model_accuracy']:.1%}"
        f" (95 % CI {low:.1%}..{high:.1%})"
    )
    echo(f"  verdict: {summary['verdict']}")
    return {**rows, **summary}
