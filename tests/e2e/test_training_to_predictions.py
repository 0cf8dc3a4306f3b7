"""Predictions from the champion the real training assets promoted (not a test double)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fx_assets.core.contracts import PREDICTIONS
from fx_assets.core.domain import FEATURES
from fx_assets.core.models.champion import load_champion
from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.resources import (
    AlertsResource,
    MlflowResource,
    ModelServiceResource,
    TrainingResource,
    WarehouseResource,
    mlflow_parent_run,
)
from tests.support.champions import fill_warehouse, mlflow_db_template, seed_home, use_home  # noqa: F401
from tests.support.code_location import materialize_groups

# About 230 feature rows: 40 test days, a gap, the rest to train on.
TRAINING = {"test_days": 40, "gap_days": 1, "cv_folds": 2, "tuning_budget": 1}


@dataclass
class Run:
    home: Path
    url: str
    final: pd.DataFrame
    predictions: pd.DataFrame
    result: object


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, mlflow_db_template: Path) -> Iterator[Run]:  # noqa: F811
    home = tmp_path_factory.mktemp("e2e") / "fxhome"
    with use_home(home):
        seed_home(home, mlflow_db_template)
        url = f"sqlite:///{home / 'warehouse.db'}"
        final = fill_warehouse(url, date(2024, 6, 1), date(2025, 9, 30))
        resources = {
            "warehouse": WarehouseResource(url=url),
            "training": TrainingResource(**TRAINING),
            "tracking_store": MlflowResource(tracking_uri=f"sqlite:///{home / 'mlflow.db'}"),
            "mlflow": mlflow_parent_run(f"sqlite:///{home / 'mlflow.db'}"),
            "alerts": AlertsResource(),  # no channel: a promotion alerts nobody here
            "model_service": ModelServiceResource(),
        }
        trained = materialize_groups("training", resources=resources)
        assert trained.success
        result = materialize_groups("inference", resources=resources)
        # The first pair's forecasts (the book's other pairs have their own rows).
        yield Run(home, url, final, Warehouse(url).read(PREDICTIONS, pair=DEFAULT_PAIR), result)


def test_the_promoted_champion_forecasts_the_days_after_its_training_data(
    run: Run,
) -> None:
    assert run.result.success  # type: ignore[attr-defined]
    with use_home(run.home):
        champion = load_champion()
    cutoff = pd.Timestamp(champion.training_cutoff)
    assert run.final["date"].min() < cutoff < run.final["date"].max()
    expected = run.final.loc[run.final["date"] > cutoff, "date"]
    assert list(run.predictions["feature_date"]) == list(expected)
    assert (run.predictions["model_version"] == champion.version).all()
    rows = run.final.set_index("date").loc[run.predictions["feature_date"], FEATURES]
    # 1e-6: an XGBoost champion's trees are summed in float32, as XGBoost itself does.
    np.testing.assert_allclose(
        run.predictions["probability_up"],
        champion.estimator.predict_proba(rows)[:, 1],
        rtol=0,
        atol=1e-6,
    )
    assert run.predictions["feature_date"].iloc[-1] == pd.Timestamp("2025-09-30")
    assert run.predictions["target_date"].iloc[-1] == pd.Timestamp("2025-10-01")
