"""Cross-validation never looks ahead; candidates and metrics are deterministic (tuning:
tests/core/training/test_tuning.py)."""

from __future__ import annotations

import itertools
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier

from fx_assets.core.domain import FEATURES
from fx_assets.core.features import build_features, build_final
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.training.modeling import (
    DEFAULT_PARAMS,
    FAMILIES,
    best,
    cross_validate,
    cv_splits,
    evaluate_candidates,
    fit,
    holdout_metrics,
    make_estimator,
    xy,
)
from fx_assets.core.training.splits import known_rows


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    bars = EcbSource().fetch(date(2020, 1, 2), date(2022, 12, 30))
    return known_rows(build_final(build_features(bars)))


class RowRecorder(BaseEstimator, ClassifierMixin):
    """A real classifier that remembers which rows (by the ``row`` column) it saw."""

    log: list[tuple[str, int, int]] = []

    def fit(self, x: pd.DataFrame, y: np.ndarray) -> RowRecorder:
        self.classes_ = np.array([0, 1])
        self.log.append(("fit", int(x["row"].min()), int(x["row"].max())))
        return self

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        self.log.append(("score", int(x["row"].min()), int(x["row"].max())))
        p = (x["row"].to_numpy() % 7) / 7
        return np.column_stack([1 - p, p])


@pytest.mark.parametrize(("folds", "gap"), [(5, 1), (3, 0), (4, 5)])
def test_cv_never_trains_on_a_row_later_than_one_it_scores(folds: int, gap: int) -> None:
    n = 400
    x = pd.DataFrame({"row": np.arange(n)})
    y = np.arange(n) % 2
    RowRecorder.log = []
    result = cross_validate(RowRecorder, x, y, folds=folds, gap=gap)

    fits = [e for e in RowRecorder.log if e[0] == "fit"]
    scores = [e for e in RowRecorder.log if e[0] == "score"]
    assert len(fits) == len(scores) == folds == len(result.scores)
    for (_, fit_lo, fit_hi), (_, score_lo, score_hi), fold in zip(
        fits, scores, result.folds, strict=True
    ):
        assert fit_lo == 0  # expanding window from the first row
        assert fit_hi + gap < score_lo  # every training row precedes every scored row
        assert (fit_hi, score_lo, score_hi) == (fold.train_end, fold.test_start, fold.test_end)
    # Folds walk forward in time and do not overlap.
    assert all(a[2] < b[1] for a, b in itertools.pairwise(scores))


def test_cv_splits_indices() -> None:
    for train_idx, test_idx in cv_splits(200, 4, 2):
        assert train_idx.max() + 2 < test_idx.min()
        assert np.all(np.diff(train_idx) == 1) and np.all(np.diff(test_idx) == 1)


def test_candidates_are_deterministic_and_scored_by_pr_auc(rows: pd.DataFrame) -> None:
    x, y = xy(rows)
    assert list(x.columns) == FEATURES
    first = evaluate_candidates(x, y, folds=3, gap=1)
    second = evaluate_candidates(x, y, folds=3, gap=1)
    assert [t.family for t in first] == list(FAMILIES)
    assert [t.cv.scores for t in first] == [t.cv.scores for t in second]
    for trial in first:
        assert len(trial.cv.scores) == 3
        assert all(0.0 < s <= 1.0 for s in trial.cv.scores)
        assert trial.cv.baselines and all(0.3 < b < 0.7 for b in trial.cv.baselines)
    winner = best(first)
    assert winner.cv.mean == max(t.cv.mean for t in first)


def test_holdout_metrics_and_the_always_up_baseline(rows: pd.DataFrame) -> None:
    train, test = rows.iloc[:-150], rows.iloc[-150:]
    model = fit("xgboost", DEFAULT_PARAMS["xgboost"], train)
    metrics = holdout_metrics(model, test)
    _, y = xy(test)
    assert metrics["baseline_pr_auc"] == pytest.approx(y.mean())
    assert set(metrics) >= {"pr_auc", "roc_auc", "accuracy", "brier"}
    assert 0 <= metrics["brier"] <= 1 and 0 <= metrics["accuracy"] <= 1
    # A constant forecast ranks nothing: its PR-AUC is exactly the baseline.
    constant = DummyClassifier(strategy="prior").fit(*xy(train))
    flat = holdout_metrics(constant, test)
    assert flat["pr_auc"] == pytest.approx(flat["baseline_pr_auc"])


def test_unknown_family_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown model family"):
        make_estimator("svm", {})
