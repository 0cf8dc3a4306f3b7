"""The pooled candidate's side of training: the book's rows a pair's pooled model may
learn from, and its challenger (fitted on every pair's rows, at its default settings)."""

import pandas as pd

from fx_assets.core.contracts import FINAL
from fx_assets.core.domain import TARGET
from fx_assets.core.training.pooled import (
    DEFAULT_POOLED_PARAMS,
    POOLED,
    fit_pooled,
    make_pooled,
    pooled_cross_validate,
)
from fx_assets.core.training.tuning import TunedTrial, Tuning
from fx_assets.defs.resources import TrainingResource, WarehouseResource


def book_rows_until(warehouse: WarehouseResource, train: pd.DataFrame) -> pd.DataFrame:
    """Every pair's modelling rows with a known target, up to this pair's last training
    day: what the pooled family learns from (each fold and the final fit cut them further)."""
    book = warehouse.get().read(FINAL)
    last = pd.Timestamp(train["date"].iloc[-1])
    return book[(book["date"] <= last) & book[TARGET].notna()].reset_index(drop=True)


def pooled_challenger(
    warehouse: WarehouseResource,
    training: TrainingResource,
    pair: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
) -> tuple[Tuning, object]:
    """The pooled model at its default settings (the tuning budget goes to the per-pair
    families: a pooled study would fit the whole book at every trial), fitted on every
    pair's rows up to this pair's last training day and decided before its test days."""
    book = book_rows_until(warehouse, train)
    cv = pooled_cross_validate(
        lambda: make_pooled(DEFAULT_POOLED_PARAMS, training.seed),
        book,
        pair,
        folds=training.cv_folds,
        gap=training.gap_days,
    )
    best = TunedTrial(POOLED, dict(DEFAULT_POOLED_PARAMS), cv)
    first_test = pd.Timestamp(test["date"].iloc[0])
    model = fit_pooled(
        book,
        pd.Timestamp(train["date"].iloc[-1]),
        params=DEFAULT_POOLED_PARAMS,
        seed=training.seed,
        decided_by=first_test - pd.Timedelta(days=1),
    )
    return Tuning(family=POOLED, best=best, trials=[best]), model
