"""Candidate models, time-series cross-validation and test metrics (tuning: ``tuning``).

Dagster-free and MLflow-free. Three families, each a scikit-learn-API classifier with
``predict_proba``: logistic regression (scaled, in a pipeline), random forest and
XGBoost. Cross-validation uses ``TimeSeriesSplit`` with a gap: every fold trains on rows
strictly before the rows it scores, and nothing is ever shuffled. Scores are PR-AUC
(``average_precision_score`` on ``predict_proba``). Seeds are fixed, so the same data
gives the same scores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    brier_score_loss,
    roc_auc_score,
)
from sklearn.model_selection import TimeSeriesSplit
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from xgboost import XGBClassifier, XGBRFClassifier

from fx_assets.core.domain import FEATURES, TARGET, THRESHOLD

SEED = 42

FAMILIES = ("logistic_regression", "random_forest", "xgboost")

# Sizes kept small on purpose: the weekly training on 25 years of daily rows, with
# cross-validation and tuning, must fit in about a minute on two busy cores, and the
# walk-forward backtest refits the champion's recipe about 290 times.
#
# The random forest is XGBoost's random-forest mode (``XGBRFClassifier``): one round of
# ``n_estimators`` trees grown in parallel and averaged, each on half the rows (drawn
# without replacement) with a new feature subset at every split, which is Breiman's
# recipe. Its histogram splits fit in about 0.25 s where scikit-learn's exact-split forest
# of the same size took 1.6-2.3 s on the full history (``bench/backtest.py``): too slow
# for ~290 backtest refits and 100 tuning fits. ``min_child_weight`` is the leaf-size
# floor: each row weighs p(1-p), about 0.25 near a coin toss, so 5 is about 20 rows.
# XGBoost runs one thread, because with 18 features its OpenMP threads gain nothing and,
# on a busy machine, spin-wait for seconds per fit.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "logistic_regression": {"C": 1.0},
    "random_forest": {
        "n_estimators": 150,
        "max_depth": 6,
        "min_child_weight": 5.0,
        "colsample_bynode": 0.25,
    },
    "xgboost": {
        "n_estimators": 200,
        "max_depth": 3,
        "learning_rate": 0.05,
        "subsample": 0.9,
        "colsample_bytree": 0.9,
        "min_child_weight": 1,
    },
}

# Fixed for the forest: half the rows per tree, and no shrinkage of the leaf values
# (``reg_lambda`` near zero, XGBoost's own random-forest default).
FOREST_FIXED: dict[str, Any] = {"subsample": 0.5, "reg_lambda": 1e-5}


def make_estimator(family: str, params: Mapping[str, Any], seed: int = SEED) -> Any:
    """An unfitted classifier of ``family`` with ``params`` and a fixed seed."""
    if family == "logistic_regression":
        return Pipeline(
            [
                ("scale", StandardScaler()),
                ("model", LogisticRegression(max_iter=2000, random_state=seed, **params)),
            ]
        )
    if family == "random_forest":
        return XGBRFClassifier(
            tree_method="hist",
            eval_metric="logloss",
            random_state=seed,
            n_jobs=1,
            verbosity=0,
            **{**FOREST_FIXED, **params},
        )
    if family == "xgboost":
        return XGBClassifier(
            tree_method="hist",
            eval_metric="logloss",
            random_state=seed,
            n_jobs=1,
            verbosity=0,
            **params,
        )
    raise ValueError(f"unknown model family {family!r}; use one of {', '.join(FAMILIES)}")


def xy(rows: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The feature matrix (FEATURES, in order, float) and the 0/1 target of modelling rows."""
    return rows[FEATURES].astype(float), rows[TARGET].astype(int).to_numpy()


def probability_up(model: Any, x: pd.DataFrame) -> np.ndarray:
    proba = model.predict_proba(x)
    return proba[:, list(model.classes_).index(1)]


def pr_auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(average_precision_score(y, p))


@dataclass(frozen=True)
class Fold:
    train_end: int  # last training row (training starts at row 0: an expanding window)
    test_start: int
    test_end: int


@dataclass(frozen=True)
class CVResult:
    scores: tuple[float, ...]
    folds: tuple[Fold, ...]
    # The always-up baseline of each fold: its PR-AUC is the fold's share of up days.
    baselines: tuple[float, ...] = ()

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def std(self) -> float:
        return float(np.std(self.scores))


def cv_splits(n_rows: int, folds: int, gap: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds: train rows all precede ``gap`` skipped rows, then the test rows."""
    return list(TimeSeriesSplit(n_splits=folds, gap=gap).split(np.arange(n_rows)))


def cross_validate(
    make: Callable[[], Any], x: pd.DataFrame, y: np.ndarray, *, folds: int, gap: int
) -> CVResult:
    """PR-AUC of a fresh ``make()`` per fold, fitted on the fold's past, scored on its future."""
    scores: list[float] = []
    bounds: list[Fold] = []
    baselines: list[float] = []
    for train_idx, test_idx in cv_splits(len(x), folds, gap):
        model = make().fit(x.iloc[train_idx], y[train_idx])
        scores.append(pr_auc(y[test_idx], probability_up(model, x.iloc[test_idx])))
        bounds.append(Fold(int(train_idx.max()), int(test_idx.min()), int(test_idx.max())))
        baselines.append(float(np.mean(y[test_idx])))
    return CVResult(scores=tuple(scores), folds=tuple(bounds), baselines=tuple(baselines))


@dataclass(frozen=True)
class Trial:
    family: str
    params: dict[str, Any]
    cv: CVResult


def evaluate_candidates(
    x: pd.DataFrame,
    y: np.ndarray,
    *,
    folds: int,
    gap: int,
    seed: int = SEED,
    families: tuple[str, ...] = FAMILIES,
) -> list[Trial]:
    """Each family with its default parameters, cross-validated on the training rows."""
    return [
        Trial(
            family,
            dict(DEFAULT_PARAMS[family]),
            cross_validate(
                lambda f=family: make_estimator(f, DEFAULT_PARAMS[f], seed),
                x,
                y,
                folds=folds,
                gap=gap,
            ),
        )
        for family in families
    ]


def best(trials: list[Trial]) -> Trial:
    """The trial with the highest mean CV PR-AUC; the earliest one wins a tie."""
    return max(reversed(trials), key=lambda t: t.cv.mean)


def fit(family: str, params: Mapping[str, Any], rows: pd.DataFrame, seed: int = SEED) -> Any:
    x, y = xy(rows)
    return make_estimator(family, params, seed).fit(x, y)


def holdout_metrics(model: Any, rows: pd.DataFrame) -> dict[str, float]:
    """Scores on held-out rows, beside the always-up baseline (whose PR-AUC is the up rate)."""
    x, y = xy(rows)
    return score_probabilities(y, probability_up(model, x))


def score_probabilities(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    both = len(np.unique(y)) == 2
    return {
        "pr_auc": pr_auc(y, p),
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "accuracy": float(accuracy_score(y, (p >= THRESHOLD).astype(int))),
        "brier": float(brier_score_loss(y, p)),
        "baseline_pr_auc": float(np.mean(y)),
        "baseline_accuracy": float(np.mean(y)),
    }
