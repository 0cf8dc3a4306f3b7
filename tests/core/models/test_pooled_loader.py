"""A pooled model registered as training registers it loads through the one loader, and
the service's fast path scores it to the estimator's own numbers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from fx_assets.core.domain import FEATURES, TARGET
from fx_assets.core.models import registry
from fx_assets.core.models.champion import load_champion
from fx_assets.core.models.loader import load_estimator
from fx_assets.core.training.modeling import DEFAULT_PARAMS
from fx_assets.core.training.pooled import fit_pooled
from fx_assets.core.training.tracking import log_challenger
from tests.support.book import book_final, shared_signal_book
from tests.support.champions import (
    mlflow_db_template,  # noqa: F401  (fixture)
    promote,
    seed_home,
    use_home,
)


@pytest.fixture
def home(tmp_path: Path, mlflow_db_template: Path) -> Iterator[Path]:  # noqa: F811
    home = tmp_path / "fxhome"
    with use_home(home):
        seed_home(home, mlflow_db_template)
        yield home


@pytest.mark.parametrize("learner", ["xgboost", "logistic_regression"])
def test_a_registered_pooled_model_loads_and_scores_on_the_fast_path(
    home: Path, learner: str
) -> None:
    rows = book_final(shared_signal_book(300, seed=4))
    cutoff = pd.Timestamp(np.sort(rows["date"].unique())[180])
    train, test = rows[rows["date"] <= cutoff], rows[rows["date"] > cutoff]
    params = {"learner": learner, **DEFAULT_PARAMS[learner]}
    model = fit_pooled(train, cutoff, params=params)
    registry.configure_mlflow()
    tags = {
        registry.TAG_FEATURES: ",".join(FEATURES),
        registry.TAG_TRAINING_CUTOFF: cutoff.date().isoformat(),
    }
    with mlflow.start_run():
        version = log_challenger(
            model,
            features=FEATURES,
            train=train,
            test=test,
            target=TARGET,
            tags=tags,
            pair="EURUSD",
        ).version
    client = registry.client()
    loaded = load_estimator(client, version)
    x = test[FEATURES].astype(float)
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    promote(version)
    champion = load_champion(client)
    assert champion.fast is not None  # the service skips scikit-learn's per-call checks
    np.testing.assert_allclose(
        champion.probability_up(x.to_numpy()), model.predict_proba(x)[:, 1], atol=1e-6
    )
