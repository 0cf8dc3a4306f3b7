"""The walk-forward backtest never trains on a row at or after the block it predicts."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, ClassifierMixin

from fx_assets.core.domain import FEATURES
from fx_assets.core.evaluation.backtest import (
    COLUMNS,
    backtest,
    predict_walk_forward,
    walk_forward_blocks,
)
from fx_assets.core.features import build_features, build_final
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.training.modeling import DEFAULT_PARAMS
from fx_assets.core.training.splits import InsufficientHistoryError

SCALE = 1e6  # row numbers stay below it, so a probability encodes one exactly


class NewestRowSeen(BaseEstimator, ClassifierMixin):
    """A real classifier whose every probability is the newest training row it was fitted on.

    Column 0 of ``x`` is the row number; the predictions carry the fit's history out of
    the backtest, whichever worker process made them.
    """

    def fit(self, x: np.ndarray, y: np.ndarray) -> NewestRowSeen:
        self.classes_ = np.array([0, 1])
        self.newest_ = int(np.max(x[:, 0]))
        self.rows_ = len(x)
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = np.full(len(x), self.newest_ / SCALE)
        return np.column_stack([1 - p, p])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=2, max_value=400),
    min_train=st.integers(min_value=1, max_value=120),
    refit=st.integers(min_value=1, max_value=60),
    gap=st.integers(min_value=0, max_value=5),
)
def test_folds_never_train_on_a_row_at_or_after_the_block_they_predict(
    n: int, min_train: int, refit: int, gap: int
) -> None:
    if n <= min_train + gap:
        with pytest.raises(InsufficientHistoryError, match="FX_BACKTEST_MIN_TRAIN_DAYS"):
            walk_forward_blocks(n, min_train=min_train, refit_days=refit, gap=gap)
        return
    blocks = walk_forward_blocks(n, min_train=min_train, refit_days=refit, gap=gap)
    x = np.column_stack([np.arange(n), np.random.default_rng(n).normal(size=n)])
    y = np.arange(n) % 2
    p = predict_walk_forward(NewestRowSeen, x, y, blocks, n_jobs=1)
    first = min_train + gap
    assert np.isnan(p[:first]).all()  # nothing is predicted before the first fit
    newest = np.rint(p[first:] * SCALE).astype(int)
    rows = np.arange(first, n)
    start_of_block = np.concatenate([np.full(b.end - b.start, b.start) for b in blocks])
    # Trained only on rows before the block, minus the gap; and so before every row it scores.
    assert (newest < start_of_block - gap).all()
    assert (newest + gap < rows).all()
    # An expanding window: the newest row each block may use, no fewer rows.
    assert (newest == start_of_block - gap - 1).all()
    # The blocks tile the predicted rows, refitting every ``refit`` rows.
    assert [b.start for b in blocks] == list(range(first, n, refit))
    assert blocks[-1].end == n and all(a.end == b.start for a, b in itertools.pairwise(blocks))
    assert blocks[0].train_end == min_train


@pytest.fixture(scope="module")
def final() -> pd.DataFrame:
    bars = EcbSource().fetch(date(2016, 1, 4), date(2020, 12, 31))
    return build_final(build_features(bars))


def test_backtest_rows_dates_and_baselines(final: pd.DataFrame) -> None:
    bt = backtest(
        final,
        family="logistic_regression",
        params=DEFAULT_PARAMS["logistic_regression"],
        min_train=500,
        refit_days=21,
        gap=1,
        n_jobs=1,
    )
    known = final[final["target"].notna()].reset_index(drop=True)
    assert list(bt.columns) == COLUMNS
    assert len(bt) == len(known) - 501
    assert bt["feature_date"].tolist() == known["date"].iloc[501:].tolist()
    assert bt["feature_date"].is_monotonic_increasing and bt["feature_date"].is_unique
    # target_date is the next trading day: the row after, also the newest unknown row's date.
    dates = final["date"].sort_values().reset_index(drop=True)
    position = {d: i for i, d in enumerate(dates)}
    assert all(
        position[t] == position[f] + 1 for f, t in zip(bt.feature_date, bt.target_date, strict=True)
    )
    assert bt["target_date"].iloc[-1] == dates.iloc[-1]
    # Trained through a date at least one known row (the gap) before each feature date.
    known_position = {d: i for i, d in enumerate(known["date"])}
    lag = [
        known_position[f] - known_position[t]
        for f, t in zip(bt.feature_date, bt.trained_through, strict=True)
    ]
    assert min(lag) == 2 and max(lag) == 22
    assert bt["trained_through"].nunique() == -(-len(bt) // 21)
    assert bt["actual"].tolist() == known["target"].iloc[501:].astype(int).tolist()
    assert ((bt["probability_up"] > 0) & (bt["probability_up"] < 1)).all()
    assert bt["direction"].tolist() == (bt["probability_up"] >= 0.5).astype(int).tolist()
    part = known.iloc[501:]
    assert (bt["always_up"] == 1).all()
    assert bt["persistence"].tolist() == (part["ret_1d"] > 0).astype(int).tolist()
    assert bt["momentum"].tolist() == (part["ret_20d"] > 0).astype(int).tolist()


@pytest.mark.parametrize("family", ["logistic_regression", "random_forest", "xgboost"])
def test_backtest_is_deterministic_whatever_the_number_of_workers(
    final: pd.DataFrame, family: str
) -> None:
    recent = final.tail(800)
    kwargs = {
        "family": family,
        "params": DEFAULT_PARAMS[family],
        "min_train": 500,
        "refit_days": 50,
    }
    one = backtest(recent, n_jobs=1, **kwargs)
    two = backtest(recent, n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(one, two, check_exact=True)
    # And it is the recipe: the first block's forecasts are those of one fit on its rows.
    from fx_assets.core.training.modeling import fit, probability_up

    known = recent[recent["target"].notna()].reset_index(drop=True)
    model = fit(family, DEFAULT_PARAMS[family], known.iloc[:500])
    # A fitted model as the recipe: each block refits an unfitted clone, same rows out.
    cloned = backtest(recent, estimator=model, min_train=500, refit_days=50, n_jobs=1)
    pd.testing.assert_frame_equal(cloned, one, check_exact=True)
    expected = probability_up(model, known[FEATURES].iloc[501:551].astype(float))
    np.testing.assert_allclose(one["probability_up"].iloc[:50], expected, rtol=1e-9)


def test_too_short_a_history_says_what_to_change(final: pd.DataFrame) -> None:
    with pytest.raises(InsufficientHistoryError, match="needs more than 1001"):
        backtest(final.head(900), family="logistic_regression", params={"C": 1.0})


class ThreadsSeen(BaseEstimator, ClassifierMixin):
    """A classifier whose probability is a tenth of the most threads any BLAS or OpenMP pool
    of its process could use while it was fitted: the refit's threads, out of any worker."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> ThreadsSeen:
        from threadpoolctl import threadpool_info

        self.classes_ = np.array([0, 1])
        self.threads_ = max(pool["num_threads"] for pool in threadpool_info())
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = np.full(len(x), self.threads_ / 10)
        return np.column_stack([1 - p, p])


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_each_refit_uses_one_thread(n_jobs: int) -> None:
    """Refits run beside each other (and beside other pairs' work): one BLAS/OpenMP thread
    each. OpenBLAS' default of a thread per core made a pooled logistic fit 8 times slower."""
    x = np.random.default_rng(0).normal(size=(300, 3))
    y = (x[:, 0] > 0).astype(int)
    blocks = walk_forward_blocks(len(x), min_train=100, refit_days=50, gap=1)

    p = predict_walk_forward(ThreadsSeen, x, y, blocks, n_jobs=n_jobs)

    assert set(np.round(p[~np.isnan(p)], 6)) == {0.1}
