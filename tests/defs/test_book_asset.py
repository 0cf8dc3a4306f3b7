"""The book's verdict asset on a real warehouse and MLflow store: it reads every pair's
backtest, writes one adjusted row per pair, logs the headline to MLflow, and says it in
its report; a planted skilful pair is the one it names."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from dagster import ExecuteInProcessResult, materialize

from fx_assets.core.contracts import BACKTEST, BACKTEST_SUMMARY, RAW
from fx_assets.core.contracts.book import BACKTEST_BOOK
from fx_assets.core.evaluation.summary import summarize
from fx_assets.core.models.registry import TAG_RUN_KIND
from fx_assets.core.reports import BookReport
from fx_assets.core.settings import sqlite_url
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.book.assets import fx_backtest_book
from fx_assets.defs.resources import EvaluationResource, MlflowResource, WarehouseResource
from tests.support.code_location import QUIET

PAIRS = ("EURUSD", "GBPUSD", "USDJPY", "AUDUSD")
DAYS = 1200


def _pair_tables(
    pair: str, rng: np.random.Generator, hit: float | None
) -> tuple[pd.DataFrame, ...]:
    dates = pd.bdate_range("2018-01-01", periods=DAYS + 1)
    closes = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.005, DAYS + 1)))
    actual = (np.diff(closes) > 0).astype(int)
    probability = rng.uniform(0.4, 0.6, DAYS)
    direction = (probability >= 0.5).astype(int)
    if hit is not None:
        right = rng.random(DAYS) < hit
        direction = np.where(right, actual, 1 - actual)
        probability = np.where(direction == 1, 0.55, 0.45)
    backtest = pd.DataFrame(
        {
            "feature_date": dates[:-1],
            "target_date": dates[1:],
            "trained_through": dates[0],
            "probability_up": probability,
            "direction": direction,
            "actual": actual,
            "always_up": 1,
            "persistence": np.concatenate([[1], actual[:-1]]),
            "momentum": 1,
        }
    )
    raw = pd.DataFrame(
        {
            "date": dates,
            "close": closes,
            "source": "csv",
            "ingested_at": pd.Timestamp("2026-01-01", tz="UTC"),
        }
    )
    return backtest, summarize(backtest, resamples=500), raw


def _backtested(fx_home: Path, pairs: tuple[str, ...]) -> Warehouse:
    """A warehouse with each pair's backtest, summary and closes; GBP/USD's model is right
    on 62 % of days (found after adjustment), the others guess."""
    wh = Warehouse(sqlite_url(fx_home / "warehouse.db"))
    rng = np.random.default_rng(7)
    for pair in pairs:
        backtest, summary, raw = _pair_tables(pair, rng, 0.62 if pair == "GBPUSD" else None)
        scoped = wh.for_pair(pair)
        scoped.replace_all(BACKTEST, backtest)
        scoped.replace_all(BACKTEST_SUMMARY, summary)
        scoped.replace_all(RAW, raw)
    return wh


def _judge(fx_home: Path) -> ExecuteInProcessResult:
    return materialize(
        [fx_backtest_book],
        resources={
            "warehouse": WarehouseResource(url=sqlite_url(fx_home / "warehouse.db")),
            "evaluation": EvaluationResource(),
            "tracking_store": MlflowResource(tracking_uri=sqlite_url(fx_home / "mlflow.db")),
        },
        run_config=QUIET,
    )


def test_the_book_is_judged_adjusted_and_logged(
    fx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FX_PAIRS", ",".join(PAIRS))
    tracking = sqlite_url(fx_home / "mlflow.db")
    wh = _backtested(fx_home, PAIRS)

    result = _judge(fx_home)

    assert result.success
    table = wh.read(BACKTEST_BOOK).set_index("pair")
    assert sorted(table.index) == sorted(PAIRS)
    assert bool(table.at["GBPUSD", "skilful_adjusted"])
    assert not table.drop(index="GBPUSD")["skilful_adjusted"].any()
    # Holm's adjusted p-value is never below the raw one.
    assert (table["p_holm"] >= table["p_value"]).all()
    (event,) = result.asset_materializations_for_node("fx_backtest_book")
    report = BookReport.from_metadata({k: v.value for k, v in event.metadata.items()})
    assert report.pairs == 4 and report.skilful_holm == 1
    assert report.headline.endswith("skill in GBP/USD")
    assert "long_short_sharpe" in report.cross_section
    assert "not investment advice" in str(report.cross_section["label"])
    run = mlflow.MlflowClient(tracking_uri=tracking).get_run(report.mlflow_run_id)
    assert run.data.tags[TAG_RUN_KIND] == "book"
    assert run.data.tags["verdict"] == report.headline
    assert run.data.metrics["skilful_holm"] == 1


def test_a_pair_taken_out_of_fx_pairs_is_not_counted(
    fx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """USD/JPY was backtested, then removed from FX_PAIRS: its rows stay, but the verdict is
    over the three pairs of the book, and the report names the one left out."""
    wh = _backtested(fx_home, PAIRS)
    monkeypatch.setenv("FX_PAIRS", "EURUSD,GBPUSD,AUDUSD")

    result = _judge(fx_home)

    assert result.success
    assert sorted(wh.read(BACKTEST_BOOK)["pair"]) == ["AUDUSD", "EURUSD", "GBPUSD"]
    (event,) = result.asset_materializations_for_node("fx_backtest_book")
    metadata = {k: v.value for k, v in event.metadata.items()}
    assert BookReport.from_metadata(metadata).pairs == 3
    assert metadata["left_out"] == "USDJPY"
    assert not wh.for_pair("USDJPY").read(BACKTEST_SUMMARY).empty  # its rows are kept
