"""The evaluation assets on a real warehouse and MLflow store, per pair: tables, checks,
MLflow, rerun."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pandas as pd
import pytest

from fx_assets.core.contracts import BACKTEST, BACKTEST_SUMMARY, BACKTEST_YEARLY, FINAL
from fx_assets.core.evaluation.summary import STRATEGIES
from fx_assets.core.models import registry
from fx_assets.core.pairs import Pair
from fx_assets.core.training.splits import known_rows
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.resources import (
    AlertsResource,
    EvaluationResource,
    MarketDataResource,
    MlflowResource,
    TrainingResource,
    WarehouseResource,
    mlflow_parent_run,
)
from tests.support.code_location import materialize_groups

# 2021-2023 from March 2021: about 730 fixings, 670 modelled rows; the backtest starts
# after 300 training rows and refits every 63 rows (a quarter), so 6 refits.
START, FIRST_YEAR, LAST_YEAR = "2021-03-01", "2021", "2023"
EURUSD = "EURUSD"


def _resources(url: str, uri: str, **evaluation: int) -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(url=url),
        "market_data": MarketDataResource(source="ecb", start_date=START),
        "training": TrainingResource(test_days=100, gap_days=1, cv_folds=2, tuning_budget=2),
        "evaluation": EvaluationResource(
            **{"min_train_days": 300, "refit_days": 63, "cost_pips": 0.8, **evaluation}
        ),
        "tracking_store": MlflowResource(tracking_uri=uri),
        "mlflow": mlflow_parent_run(uri),
        "alerts": AlertsResource(),  # no channel: a promotion alerts nobody here
    }


def test_backtest_summary_yearly_checks_and_mlflow(warehouse_url: str, fx_home: Path) -> None:
    uri = f"sqlite:///{fx_home / 'mlflow.db'}"
    resources = _resources(warehouse_url, uri)
    etl = materialize_groups(
        "ingestion", "features", resources=resources, years=(FIRST_YEAR, LAST_YEAR)
    )
    assert etl.success
    first = materialize_groups("training", "evaluation", resources=resources)
    assert first.success
    wh = Warehouse(warehouse_url).for_pair(EURUSD)
    rows = wh.read(BACKTEST)
    known = known_rows(wh.read(FINAL))
    assert len(rows) == len(known) - 301
    assert rows["feature_date"].tolist() == known["date"].iloc[301:].tolist()
    assert rows["trained_through"].nunique() == -(-len(rows) // 63)
    assert (rows["trained_through"] < rows["feature_date"]).all()
    checks = {e.check_name: e.passed for e in first.get_asset_check_evaluations()}
    assert checks["backtest_never_looks_ahead"] and checks[f"{BACKTEST.name}_schema"]
    assert checks[f"{BACKTEST_SUMMARY.name}_schema"] and checks[f"{BACKTEST_YEARLY.name}_schema"]

    summary = wh.read(BACKTEST_SUMMARY)
    assert sorted(summary["strategy"]) == sorted(STRATEGIES)
    by = summary.set_index("strategy")
    assert by.at["model", "accuracy"] == pytest.approx((rows["direction"] == rows["actual"]).mean())
    assert by.at["always_up", "accuracy"] == pytest.approx(rows["actual"].mean())
    assert (summary["accuracy_ci_low"] <= summary["accuracy"]).all()
    assert pd.isna(by.at["model", "p_value"]) and 0 < by.at["always_up", "p_value"] <= 1
    yearly = wh.read(BACKTEST_YEARLY)
    assert set(yearly["year"]) == set(pd.to_datetime(rows["feature_date"]).dt.year)

    (meta,) = [
        m.metadata
        for m in first.asset_materializations_for_node("fx_backtest_summary")
        if m.asset_key.to_user_string() == BACKTEST_SUMMARY.name
    ]
    assert meta["pair"].value == EURUSD
    assert meta["verdict"].value.split(",")[0] in {
        "not distinguishable from always-up",
        "better than always-up",
        "worse than always-up",
    }
    # The backtest's MLflow run nests under the training's parent run, with the verdict.
    client = registry.client(uri)
    run = client.get_run(meta["mlflow_run_id"].value)
    parent = client.get_run(run.data.tags["mlflow.parentRunId"])
    assert parent.data.tags[registry.TAG_RUN_KIND] == "training"
    assert run.data.tags["verdict"] == meta["verdict"].value
    assert run.data.tags[registry.TAG_PAIR] == parent.data.tags[registry.TAG_PAIR] == EURUSD
    # Costs in the pair's own pips, and said so.
    assert float(run.data.params["pip"]) == Pair.parse(EURUSD).pip
    assert run.data.metrics["model_accuracy"] == pytest.approx(by.at["model", "accuracy"])
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "backtest")}
    assert {"backtest/summary.csv", "backtest/equity.html"} <= artifacts
    # Optuna's trials are runs nested under the same parent.
    trials = client.search_runs(
        [parent.info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
        " and tags.`fx.kind` = 'trial'",
    )
    assert len(trials) == 2

    # Rewritten whole and deterministic: a second materialization leaves the same rows.
    again = materialize_groups("evaluation", resources=resources)
    assert again.success
    pd.testing.assert_frame_equal(wh.read(BACKTEST), rows)
    pd.testing.assert_frame_equal(wh.read(BACKTEST_SUMMARY), summary)
    mlflow.set_tracking_uri(None)


def test_too_short_a_history_skips_the_backtest_without_failing_the_run(
    fx_home: Path,
) -> None:
    url, uri = f"sqlite:///{fx_home / 'warehouse.db'}", f"sqlite:///{fx_home / 'mlflow.db'}"
    resources = _resources(url, uri, min_train_days=5000)
    assert materialize_groups(
        "ingestion", "features", resources=resources, years=(FIRST_YEAR, LAST_YEAR)
    ).success
    result = materialize_groups("training", "evaluation", resources=resources)
    assert result.success
    assert result.asset_materializations_for_node("champion_model")
    assert not result.asset_materializations_for_node("fx_backtest")
    assert not result.asset_materializations_for_node("fx_backtest_summary")
    mlflow.set_tracking_uri(None)
