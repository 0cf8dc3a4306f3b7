"""The backtest in MLflow: its verdict as metrics, its tables and pictures as artifacts.

Dagster-free. Called inside the training's parent run; the backtest gets a nested run,
so the MLflow UI shows the same figures and the same sentence as the dashboard.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import mlflow
import pandas as pd

from fx_assets.core.evaluation import figures
from fx_assets.core.evaluation.summary import SUMMARY_COLUMNS, verdict
from fx_assets.core.models.registry import TAG_PAIR, TAG_RUN_KIND

# Every figure of a summary row is a metric; the strategy and the count are not.
METRIC_COLUMNS = tuple(c for c in SUMMARY_COLUMNS if c not in ("strategy", "n"))


def summary_metrics(summary: pd.DataFrame) -> dict[str, float]:
    """``<strategy>_<column>`` for every number of the summary (nulls left out)."""
    out: dict[str, float] = {}
    for row in summary.to_dict("records"):
        for column in METRIC_COLUMNS:
            value = row.get(column)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                out[f"{row['strategy']}_{column}"] = float(value)
        out[f"{row['strategy']}_n"] = float(row["n"])
    return out


def log_backtest(
    *,
    run_name: str,
    pair: str,
    params: Mapping[str, Any],
    backtest: pd.DataFrame,
    summary: pd.DataFrame,
    yearly: pd.DataFrame,
    curves: pd.DataFrame,
) -> str:
    """One run nested in the active run: params, summary metrics, tables, figures; its id."""
    words = {b: verdict(summary, b) for b in ("always_up", "persistence", "momentum")}
    with mlflow.start_run(
        run_name=run_name,
        nested=True,
        tags={TAG_RUN_KIND: "backtest", TAG_PAIR: pair, "verdict": words["always_up"]},
    ) as run:
        mlflow.log_params({k: str(v) for k, v in params.items()})
        mlflow.log_metrics(summary_metrics(summary))
        mlflow.log_text(summary.to_csv(index=False), "backtest/summary.csv")
        mlflow.log_text(yearly.to_csv(index=False), "backtest/yearly.csv")
        mlflow.log_text(backtest.to_csv(index=False), "backtest/forecasts.csv")
        mlflow.log_text(
            "\n".join(f"model vs {b}: {w}" for b, w in words.items()) + "\n",
            "backtest/verdict.txt",
        )
        for name, figure in (
            ("accuracy", figures.accuracy_figure(summary)),
            ("equity", figures.equity_figure(curves)),
            ("yearly", figures.yearly_figure(yearly)),
        ):
            mlflow.log_text(figures.to_html(figure), f"backtest/{name}.html")
        return str(run.info.run_id)


def log_book(*, verdict: Mapping[str, Any], table: pd.DataFrame, cross: Mapping[str, Any]) -> str:
    """The book's verdict as a run of its own: the adjusted counts as metrics, the headline
    as a tag (the run list shows it), the per-pair table and the illustration as artifacts."""
    numbers = {k: float(v) for k, v in verdict.items() if isinstance(v, int | float)}
    with mlflow.start_run(
        run_name="book verdict",
        tags={TAG_RUN_KIND: "book", "verdict": str(verdict.get("headline", ""))},
    ) as run:
        mlflow.log_metrics(numbers)
        mlflow.log_params({"adjustment": verdict.get("adjustment", ""), "alpha": verdict["alpha"]})
        mlflow.log_text(table.to_csv(index=False), "book/pairs.csv")
        mlflow.log_text(
            "\n".join(f"{k}: {v}" for k, v in cross.items()) + "\n", "book/cross_section.txt"
        )
        return str(run.info.run_id)
