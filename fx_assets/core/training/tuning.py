"""Hyperparameter tuning with Optuna: seeded TPE, time-ordered CV, pruned fold by fold.

Dagster-free and MLflow-free. Each trial is scored exactly as the candidates are: the
mean PR-AUC of ``TimeSeriesSplit`` folds with the gap, on the training rows only. The
first trial is the family's defaults (so tuning never reports a CV score below the
untuned model's); TPE, seeded, proposes the rest. After each fold a trial reports its
running mean, and the median pruner stops it when that is below the median of earlier
trials at the same fold (from the sixth trial on, after the first fold). The budget
bounds the trials; the timeout bounds the wall time (checked between trials; the
defaults always run). The same rows and seed give the
same trials, scores and winner, to the last digit, unless the timeout cuts the study
short (then the result says so).

``on_trial`` is called after every finished or pruned trial: the training asset logs
each as a nested MLflow run through it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd

from fx_assets.core.training.modeling import (
    DEFAULT_PARAMS,
    SEED,
    CVResult,
    Fold,
    Trial,
    cv_splits,
    make_estimator,
    pr_auc,
    probability_up,
)

DEFAULT_TUNING_BUDGET = 20
DEFAULT_TUNING_TIMEOUT = 300.0
# Pruning needs a median worth comparing with: five complete trials, one fold each.
PRUNER_STARTUP_TRIALS = 5
PRUNER_WARMUP_FOLDS = 1


def _logistic_regression(trial: optuna.Trial) -> dict[str, Any]:
    return {"C": trial.suggest_float("C", 1e-3, 10.0, log=True)}


def _random_forest(trial: optuna.Trial) -> dict[str, Any]:
    # Shallow, well-populated leaves: daily FX has little signal to split on, and the
    # weekly training must stay within a minute on two cores. A leaf weight of 2.5 to 25
    # is about 10 to 100 rows (see ``modeling.DEFAULT_PARAMS``); a quarter of the 18
    # features per split is about their square root.
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 250, step=50),
        "max_depth": trial.suggest_int("max_depth", 3, 8),
        "min_child_weight": trial.suggest_float("min_child_weight", 2.5, 25.0, log=True),
        "colsample_bynode": trial.suggest_categorical("colsample_bynode", [0.25, 0.5]),
    }


def _xgboost(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 100, 400, step=50),
        "max_depth": trial.suggest_int("max_depth", 2, 5),
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.2, log=True),
        "subsample": trial.suggest_float("subsample", 0.6, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.6, 1.0),
        "min_child_weight": trial.suggest_int("min_child_weight", 1, 20, log=True),
    }


# The search space of each family, in one place: a function proposing its parameters.
SEARCH_SPACES: dict[str, Callable[[optuna.Trial], dict[str, Any]]] = {
    "logistic_regression": _logistic_regression,
    "random_forest": _random_forest,
    "xgboost": _xgboost,
}


@dataclass(frozen=True)
class TunedTrial(Trial):
    """A trial of the study: ``cv`` holds the folds it ran (fewer when it was pruned)."""

    number: int = 0
    state: str = "complete"  # or "pruned"


@dataclass(frozen=True)
class Tuning:
    family: str
    best: TunedTrial
    trials: list[TunedTrial] = field(default_factory=list)
    seconds: float = 0.0
    timed_out: bool = False

    @property
    def pruned(self) -> int:
        return sum(t.state == "pruned" for t in self.trials)


def tune(
    family: str,
    x: pd.DataFrame,
    y: np.ndarray,
    *,
    budget: int = DEFAULT_TUNING_BUDGET,
    timeout: float | None = DEFAULT_TUNING_TIMEOUT,
    folds: int,
    gap: int,
    seed: int = SEED,
    on_trial: Callable[[TunedTrial], None] | None = None,
) -> Tuning:
    """The Optuna study over ``family``'s space, on the training rows ``x``, ``y`` only."""
    if budget < 1:
        raise ValueError(f"tuning budget must be at least 1, not {budget}")
    if family not in SEARCH_SPACES:
        raise ValueError(f"unknown model family {family!r}; use one of {', '.join(SEARCH_SPACES)}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    splits = cv_splits(len(x), folds, gap)
    records: list[TunedTrial] = []

    def objective(trial: optuna.Trial) -> float:
        params = SEARCH_SPACES[family](trial)
        scores: list[float] = []
        bounds: list[Fold] = []
        baselines: list[float] = []

        def record(state: str) -> TunedTrial:
            cv = CVResult(tuple(scores), tuple(bounds), tuple(baselines))
            done = TunedTrial(family, params, cv, number=trial.number, state=state)
            records.append(done)
            if on_trial is not None:
                on_trial(done)
            return done

        for step, (train_idx, test_idx) in enumerate(splits):
            model = make_estimator(family, params, seed).fit(x.iloc[train_idx], y[train_idx])
            scores.append(pr_auc(y[test_idx], probability_up(model, x.iloc[test_idx])))
            bounds.append(Fold(int(train_idx.max()), int(test_idx.min()), int(test_idx.max())))
            baselines.append(float(np.mean(y[test_idx])))
            trial.report(float(np.mean(scores)), step)
            if step < len(splits) - 1 and trial.should_prune():
                record("pruned")
                raise optuna.TrialPruned()
        return record("complete").cv.mean

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=PRUNER_STARTUP_TRIALS, n_warmup_steps=PRUNER_WARMUP_FOLDS
        ),
    )
    study.enqueue_trial(DEFAULT_PARAMS[family])
    started = time.perf_counter()
    # The defaults always run, whatever the timeout: the study then always has a winner.
    study.optimize(objective, n_trials=1, catch=())
    if budget > 1:
        left = None if timeout is None else max(0.0, timeout - (time.perf_counter() - started))
        study.optimize(objective, n_trials=budget - 1, timeout=left, catch=())
    complete = [t for t in records if t.state == "complete"]
    # The highest mean CV PR-AUC; the earliest trial wins a tie (the defaults first).
    winner = max(reversed(complete), key=lambda t: t.cv.mean)
    return Tuning(
        family=family,
        best=winner,
        trials=records,
        seconds=time.perf_counter() - started,
        timed_out=len(records) < budget,
    )
