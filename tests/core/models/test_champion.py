"""The champion loader: registry contract, metadata, and the fast scoring path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier

from fx_assets.core.domain import FEATURES
from fx_assets.core.models import registry
from fx_assets.core.models.champion import (
    ChampionError,
    NoChampionError,
    champion_version,
    load_champion,
)
from fx_assets.core.models.fastpath import agrees, candidates
from fx_assets.core.training.modeling import make_estimator
from tests.support.champions import (
    CUTOFF,
    END,
    START,
    fill_warehouse,
    mlflow_db_template,  # noqa: F401  (fixture)
    register_champion,
    seed_home,
)


def _data(n: int = 400) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(7)
    x = pd.DataFrame(rng.normal(size=(n, len(FEATURES))), columns=FEATURES)
    y = ((x["ret_1d"] + 0.5 * x["rsi_14"] + rng.normal(size=n)) > 0).astype(int)
    return x, y


@pytest.mark.parametrize(
    ("model", "paths", "atol"),
    [
        (make_pipeline(StandardScaler(), LogisticRegression(C=0.5)), 1, 1e-12),
        (LogisticRegression(), 1, 1e-12),
        # A champion registered before the forest family moved to XGBoost.
        (RandomForestClassifier(n_estimators=25, max_depth=5, random_state=0), 1, 1e-12),
        # The forest family today: XGBoost's random-forest mode, parallel trees averaged.
        (make_estimator("random_forest", {"n_estimators": 40, "max_depth": 5}), 2, 1e-6),
        # Trees walked in numpy (float32 like XGBoost), then the booster's inplace_predict.
        (XGBClassifier(n_estimators=60, max_depth=5, learning_rate=0.1), 2, 1e-6),
        (XGBClassifier(n_estimators=200, max_depth=3, early_stopping_rounds=3), 2, 1e-6),
    ],
    ids=[
        "scaled-logistic",
        "logistic",
        "sklearn-random-forest",
        "random-forest",
        "xgboost",
        "xgboost-early-stopped",
    ],
)
def test_fast_paths_equal_predict_proba(model: Any, paths: int, atol: float) -> None:
    x, y = _data()
    if getattr(model, "early_stopping_rounds", None):
        model.fit(x[:300], y[:300], eval_set=[(x[300:], y[300:])], verbose=False)
        assert model.best_iteration < 199
    else:
        model.fit(x, y)
    found = candidates(model, 1)
    assert len(found) == paths
    expected = model.predict_proba(x)[:, 1]
    for fast in found:
        np.testing.assert_allclose(fast(x.to_numpy()), expected, rtol=0, atol=atol)
        np.testing.assert_allclose(fast(x.to_numpy()[:1]), expected[:1], rtol=0, atol=atol)
        assert agrees(fast, lambda a: model.predict_proba(a)[:, 1], len(FEATURES))


def test_unknown_model_family_has_no_fast_path_and_a_wrong_one_is_refused() -> None:
    from sklearn.neighbors import KNeighborsClassifier

    x, y = _data()
    assert candidates(KNeighborsClassifier().fit(x, y), 1) == []
    lr = LogisticRegression().fit(x, y)
    (fast,) = candidates(lr, 1)
    assert not agrees(lambda a: 1 - fast(a), lambda a: lr.predict_proba(a)[:, 1], len(FEATURES))


@pytest.fixture
def home(tmp_path: Path, mlflow_db_template: Path, fx_home: Path) -> Path:  # noqa: F811
    seed_home(fx_home, mlflow_db_template)
    return fx_home


def test_no_champion_is_a_clear_error(home: Path) -> None:
    assert champion_version() is None
    with pytest.raises(NoChampionError, match=r"no champion model.*run training"):
        load_champion()


def test_loads_the_aliased_version_with_its_metadata(home: Path) -> None:
    final = fill_warehouse(f"sqlite:///{home / 'warehouse.db'}", START, END)
    first = register_champion(final, CUTOFF)
    second = register_champion(final, CUTOFF, c=0.01, alias=False)
    champion = load_champion()
    assert (champion.name, champion.version) == (registry.MODEL_NAME, first)
    assert champion_version() == first != second
    assert champion.features == tuple(FEATURES)
    assert champion.training_cutoff == CUTOFF
    assert champion.test_pr_auc == pytest.approx(0.52)
    assert champion.baseline_pr_auc == pytest.approx(0.5)
    assert len(champion.run_id) == 32
    assert champion.fast is not None  # a scaled logistic regression compiles

    x = final[FEATURES].to_numpy()
    p, direction = champion.score(x)
    np.testing.assert_allclose(p, champion.estimator.predict_proba(final[FEATURES])[:, 1])
    assert ((p >= 0.5).astype(int) == direction).all()
    assert ((p > 0) & (p < 1)).all()


def test_a_version_without_the_contract_tags_is_refused(home: Path) -> None:
    final = fill_warehouse(f"sqlite:///{home / 'warehouse.db'}", START, END)
    version = register_champion(final, CUTOFF)
    client = registry.client()
    client.delete_model_version_tag(registry.MODEL_NAME, version, registry.TAG_TRAINING_CUTOFF)
    with pytest.raises(ChampionError, match="training_cutoff"):
        load_champion()
    client.set_model_version_tag(
        registry.MODEL_NAME, version, registry.TAG_TRAINING_CUTOFF, CUTOFF.isoformat()
    )
    client.set_model_version_tag(registry.MODEL_NAME, version, registry.TAG_FEATURES, "ret_1d,x")
    with pytest.raises(ChampionError, match=r"feature.*x"):
        load_champion()
