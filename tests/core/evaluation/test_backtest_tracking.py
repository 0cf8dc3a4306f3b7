"""The backtest's MLflow run: nested, its verdict as metrics and tags, tables and figures."""

from __future__ import annotations

from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from fx_assets.core.evaluation.backtest import backtest
from fx_assets.core.evaluation.summary import (
    equity_curves,
    summarize,
    summarize_by_year,
    verdict,
)
from fx_assets.core.evaluation.tracking import log_backtest
from fx_assets.core.features import build_features, build_final
from fx_assets.core.models.registry import TAG_PAIR


def test_backtest_run_nests_under_the_active_run_with_metrics_and_artifacts(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(1)
    close = 1.1 * np.exp(np.cumsum(rng.normal(0, 0.006, 900)))
    staging = build_features(
        pd.DataFrame({"date": pd.bdate_range("2015-01-05", periods=900), "close": close})
    )
    closes = dict(zip(staging["date"], staging["close"], strict=True))
    bt = backtest(
        build_final(staging),
        family="logistic_regression",
        params={"C": 1.0},
        min_train=300,
        n_jobs=1,
    )
    summary = summarize(bt, closes, resamples=100)
    yearly = summarize_by_year(bt, resamples=100)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    # An experiment of this store: an earlier test in the process may have made another
    # store's experiment the active one.
    mlflow.set_experiment("backtest")
    try:
        with mlflow.start_run() as parent:
            run_id = log_backtest(
                run_name="backtest",
                pair="USDJPY",
                params={"family": "logistic_regression", "refit_days": 21},
                backtest=bt,
                summary=summary,
                yearly=yearly,
                curves=equity_curves(bt, closes),
            )
        run = mlflow.get_run(run_id)
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.data.tags["verdict"] == verdict(summary)
        assert run.data.tags[TAG_PAIR] == "USDJPY"  # the book's runs share one experiment
        rows = summary.set_index("strategy")
        assert run.data.metrics["model_accuracy"] == rows.at["model", "accuracy"]
        assert run.data.metrics["always_up_p_value"] == rows.at["always_up", "p_value"]
        assert "model_p_value" not in run.data.metrics  # null: the model against itself
        assert run.data.params["refit_days"] == "21"
        paths = {a.path for a in mlflow.MlflowClient().list_artifacts(run_id, "backtest")}
        assert paths == {
            f"backtest/{name}"
            for name in (
                "summary.csv",
                "yearly.csv",
                "forecasts.csv",
                "verdict.txt",
                "accuracy.html",
                "equity.html",
                "yearly.html",
            )
        }
    finally:
        mlflow.set_tracking_uri(None)
