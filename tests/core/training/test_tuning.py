"""Optuna tuning: reproducible to the digit, pruned fold by fold, bounded, on train only."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from fx_assets.core.features import build_features, build_final
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.training.modeling import DEFAULT_PARAMS, FAMILIES, xy
from fx_assets.core.training.splits import known_rows
from fx_assets.core.training.tuning import SEARCH_SPACES, TunedTrial, tune


@pytest.fixture(scope="module")
def train() -> tuple[pd.DataFrame, np.ndarray]:
    bars = EcbSource().fetch(date(2012, 1, 2), date(2019, 12, 31))
    return xy(known_rows(build_final(build_features(bars))))


def _fingerprint(trials: list[TunedTrial]) -> list[tuple[object, ...]]:
    return [(t.number, t.state, sorted(t.params.items()), t.cv.scores) for t in trials]


@pytest.mark.parametrize("family", ["logistic_regression", "random_forest", "xgboost"])
def test_same_data_same_trials_scores_and_winner(
    train: tuple[pd.DataFrame, np.ndarray], family: str
) -> None:
    x, y = train
    first = tune(family, x, y, budget=8, folds=3, gap=1, timeout=None)
    second = tune(family, x, y, budget=8, folds=3, gap=1, timeout=None)
    assert _fingerprint(first.trials) == _fingerprint(second.trials)  # exact floats
    assert first.best.params == second.best.params and first.best.cv == second.best.cv
    assert len(first.trials) == 8 and not first.timed_out
    # The defaults come first; the others are TPE's proposals, all different.
    assert first.trials[0].params == DEFAULT_PARAMS[family]
    assert len({tuple(sorted(t.params.items())) for t in first.trials}) == 8
    # Another seed explores elsewhere.
    other = tune(family, x, y, budget=3, folds=3, gap=1, seed=7, timeout=None)
    assert other.trials[1].params != first.trials[1].params


def test_pruning_stops_trials_below_the_median_fold_by_fold(
    train: tuple[pd.DataFrame, np.ndarray],
) -> None:
    x, y = train
    seen: list[TunedTrial] = []
    tuning = tune("xgboost", x, y, budget=14, folds=4, gap=1, timeout=None, on_trial=seen.append)
    assert seen == tuning.trials  # the hook saw every trial, in order
    assert tuning.pruned >= 1
    complete = [t for t in tuning.trials if t.state == "complete"]
    assert tuning.best.cv.mean == max(t.cv.mean for t in complete)
    assert tuning.best.state == "complete" and len(tuning.best.cv.scores) == 4
    for trial in tuning.trials:
        if trial.state != "pruned":
            assert len(trial.cv.scores) == 4
            continue
        step = len(trial.cv.scores) - 1
        assert 1 <= step < 3  # after the warm-up fold, before the last
        earlier = [t for t in complete if t.number < trial.number]
        assert len(earlier) >= 5
        median = np.median([np.mean(t.cv.scores[: step + 1]) for t in earlier])
        assert np.mean(trial.cv.scores) < median


def test_tuning_sees_only_the_rows_it_is_given_and_honours_the_gap(
    train: tuple[pd.DataFrame, np.ndarray],
) -> None:
    x, y = train
    tuning = tune("logistic_regression", x, y, budget=3, folds=3, gap=5, timeout=None)
    for trial in tuning.trials:
        for fold in trial.cv.folds:
            assert fold.test_end < len(x)
            assert fold.train_end + 5 < fold.test_start


def test_timeout_and_budget_bound_the_study(train: tuple[pd.DataFrame, np.ndarray]) -> None:
    x, y = train
    cut = tune("logistic_regression", x, y, budget=20, folds=3, gap=1, timeout=1e-6)
    assert len(cut.trials) == 1 and cut.timed_out  # the timeout is checked between trials
    assert cut.best.params == DEFAULT_PARAMS["logistic_regression"]
    with pytest.raises(ValueError, match="at least 1"):
        tune("logistic_regression", x, y, budget=0, folds=3, gap=1)
    with pytest.raises(ValueError, match="unknown model family"):
        tune("svm", x, y, budget=2, folds=3, gap=1)


def test_every_family_has_a_search_space_that_accepts_its_defaults() -> None:
    assert set(SEARCH_SPACES) == set(FAMILIES)
