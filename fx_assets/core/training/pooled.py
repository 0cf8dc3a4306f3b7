"""The pooled family: one model trained on the rows of every pair in the book.

Dagster-free and MLflow-free. A pair has a few thousand daily rows at most, and what
little signal daily FX has is largely shared across currencies; one model fitted on all
pairs' rows sees seven times the data. To make the rows of different pairs comparable,
the model's first step, ``VolatilityScaler``, puts every return-like feature in units
of the pair's own 60-day volatility (``vol_60``), row by row: a 0.5 % day is a big
move for EUR/CHF and an ordinary one for AUD/JPY. The scaler reads nothing but the row
itself, so it is as causal as the features, and the pooled model takes exactly the
FEATURES row every other family takes: the signature, the service, the ranges guard and
the fast path (``fastpath``) need nothing new. Its skops type is in the loader's
``TRUSTED_TYPES``.

Cross-validation (``pooled_cross_validate``) scores one pair on the same folds as that
pair's own candidates (``modeling.cv_splits`` over its rows), so the mean PR-AUCs sit
side by side; each fold trains on every pair's rows up to the fold's training end (see
``fold_rows`` for the exact rule).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from fx_assets.core.domain import FEATURES, MA_WINDOWS, RETURN_LAGS, TARGET
from fx_assets.core.training.modeling import (
    DEFAULT_PARAMS,
    FAMILIES,
    SEED,
    CVResult,
    Fold,
    Trial,
    cv_splits,
    make_estimator,
    pr_auc,
    probability_up,
    xy,
)

POOLED = "pooled"
# ONE_THREAD: pooled fits run with one BLAS thread. On the book's ~50k rows OpenBLAS'
# default (a thread per core) made a logistic fit 8 times slower (0.59 s against 0.075 s
# on two cores), the more so beside another pair's work or on a worker given one core.
# The denominator: the pair's daily volatility over 60 bars, steadier than 5 or 20.
VOLATILITY = "vol_60"
# Features in units of a daily return: divided by VOLATILITY. vol_5 and vol_20 become
# their ratio to it (is the market calmer or wilder than usual?); MACD is already scaled
# by price in ``features``. RSI and the weekday are comparable as they are, and any other
# column (the cross-currency features, in the book's own units) passes through.
SCALED = (
    "ret_1d",
    *[f"ret_lag_{k}" for k in RETURN_LAGS],
    "ret_5d",
    "ret_20d",
    *[f"ma_ratio_{w}" for w in MA_WINDOWS],
    "vol_5",
    "vol_20",
    "macd",
    "macd_signal",
    "macd_hist",
)
# Logistic regression on the scaled rows; ``learner`` may name any other family of
# ``modeling``. On a simulated book sharing one rule (tests/support/book.py; 100 training
# days per pair) it scored test PR-AUC 0.725 against XGBoost's 0.687 as the pooled learner
# and the best per-pair family's 0.659, and it refits the whole book at every backtest
# block in a fraction of XGBoost's time.
DEFAULT_POOLED_PARAMS: dict[str, Any] = {
    "learner": "logistic_regression",
    **DEFAULT_PARAMS["logistic_regression"],
}


class VolatilityScaler(TransformerMixin, BaseEstimator):
    """FEATURES rows to the same rows in units of the pair's own volatility (see SCALED);
    the VOLATILITY column itself is dropped, being the one figure that tells pairs apart.

    Plain numpy, no per-call checks: ``fast_transform`` is also the service's fast path.
    """

    def fit(self, x: Any, y: Any = None) -> VolatilityScaler:
        names = [str(c) for c in x.columns] if isinstance(x, pd.DataFrame) else list(FEATURES)
        if len(names) != np.shape(x)[1]:
            raise ValueError(
                f"VolatilityScaler got {np.shape(x)[1]} columns; pass the {len(names)} FEATURES"
            )
        if VOLATILITY not in names:
            raise ValueError(f"the pooled model needs the {VOLATILITY} feature; it is missing")
        if isinstance(x, pd.DataFrame):
            self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        self.volatility_index_ = names.index(VOLATILITY)
        self.scaled_index_ = [i for i, name in enumerate(names) if name in SCALED]
        self.kept_index_ = [i for i, name in enumerate(names) if name != VOLATILITY]
        self.names_out_ = [names[i] for i in self.kept_index_]
        return self

    def fast_transform(self, x: np.ndarray) -> np.ndarray:
        x = np.array(x, dtype=float)  # a copy: the caller's rows stay as they were
        vol = x[:, self.volatility_index_]
        # A pair that has not moved in 60 bars has no scale; its scaled moves are 0.
        per_vol = np.divide(1.0, vol, out=np.zeros_like(vol), where=vol > 0)
        x[:, self.scaled_index_] *= per_vol[:, None]
        return x[:, self.kept_index_]

    def transform(self, x: Any) -> np.ndarray:
        if isinstance(x, pd.DataFrame):
            fitted = getattr(self, "feature_names_in_", None)
            if fitted is not None and list(x.columns) != list(fitted):
                raise ValueError(
                    "the pooled model was fitted on other columns; pass the FEATURES in order"
                )
            x = x.to_numpy(dtype=float)
        return self.fast_transform(np.asarray(x, dtype=float))

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(self.names_out_, dtype=object)


def make_pooled(params: Mapping[str, Any] = DEFAULT_POOLED_PARAMS, seed: int = SEED) -> Pipeline:
    """An unfitted pooled model: VolatilityScaler, then ``params['learner']``'s steps."""
    learner = params.get("learner", DEFAULT_POOLED_PARAMS["learner"])
    if learner not in FAMILIES:
        raise ValueError(f"unknown pooled learner {learner!r}; use one of {', '.join(FAMILIES)}")
    inner = make_estimator(learner, {k: v for k, v in params.items() if k != "learner"}, seed)
    steps = inner.steps if isinstance(inner, Pipeline) else [("model", inner)]
    return Pipeline([("per_volatility", VolatilityScaler()), *steps])


def book_rows(book: pd.DataFrame) -> pd.DataFrame:
    """The book's modelling rows (``pair``, ``date``, FEATURES, ``target``), each pair's
    oldest first, with ``decided_on``: the date of the pair's next row, whose close decides
    the target (null on each pair's last row, where the next is not in ``book``)."""
    missing = {"pair", "date", TARGET, *FEATURES} - set(book.columns)
    if missing:
        raise ValueError(f"the book's rows lack column(s) {', '.join(sorted(missing))}")
    if book[TARGET].isna().any():
        raise ValueError("the book's rows include unknown targets; pass rows with a known target")
    rows = book.assign(date=pd.to_datetime(book["date"])).sort_values(["pair", "date"])
    rows = rows.reset_index(drop=True)
    return rows.assign(decided_on=rows.groupby("pair")["date"].shift(-1))


def fold_rows(
    rows: pd.DataFrame, end: pd.Timestamp, decided_by: pd.Timestamp | None
) -> pd.DataFrame:
    """The pooled training rows for a fold ending at ``end``: rows of every pair dated
    ``end`` or earlier, and, when ``decided_by`` is given, whose target is decided by a
    close dated ``decided_by`` or earlier.

    The second rule matters when a pair lacks a bar: its row on ``end`` would take its
    target from its next bar, which may lie inside the validation window.
    """
    keep = rows["date"] <= end
    if decided_by is not None:
        keep &= rows["decided_on"] <= decided_by  # a null (unknown) decision date fails
    return rows.loc[keep]


def pooled_cross_validate(
    make: Callable[[], Any],
    book: pd.DataFrame,
    pair: str,
    *,
    folds: int,
    gap: int,
    fits: MutableMapping[tuple[pd.Timestamp, pd.Timestamp], Any] | None = None,
) -> CVResult:
    """The pooled family's CV score for ``pair``: ``pair``'s own folds (``cv_splits`` over
    its rows, as its per-pair candidates), each fitted on ``fold_rows`` of the whole book
    up to the fold's last training row and scored on ``pair``'s validation rows.

    ``book``: the training rows of every pair (``book_rows``' columns). ``fits``, when
    given, keeps the fitted model of each training set, so the pairs of one book share
    their fits (dates aligned across pairs give the same training sets); use one per book
    and recipe.
    """
    rows = book_rows(book)
    own = rows[rows["pair"] == pair].reset_index(drop=True)
    if own.empty:
        raise ValueError(f"{pair} has no rows in the book; its pooled score needs its own rows")
    x_own, y_own = xy(own)
    scores: list[float] = []
    bounds: list[Fold] = []
    baselines: list[float] = []
    for train_idx, test_idx in cv_splits(len(own), folds, gap):
        last = int(train_idx.max())
        # The close deciding the pair's own last training target: the row after ``last``.
        end, decided_by = own["date"].iloc[last], own["date"].iloc[last + 1]
        model = None if fits is None else fits.get((end, decided_by))
        if model is None:
            with threadpool_limits(limits=1):  # see ONE_THREAD
                model = make().fit(*xy(fold_rows(rows, end, decided_by)))
            if fits is not None:
                fits[(end, decided_by)] = model
        p = probability_up(model, x_own.iloc[test_idx])
        scores.append(pr_auc(y_own[test_idx], p))
        bounds.append(Fold(last, int(test_idx.min()), int(test_idx.max())))
        baselines.append(float(np.mean(y_own[test_idx])))
    return CVResult(scores=tuple(scores), folds=tuple(bounds), baselines=tuple(baselines))


def evaluate_pooled(
    book: pd.DataFrame,
    pair: str,
    *,
    folds: int,
    gap: int,
    params: Mapping[str, Any] = DEFAULT_POOLED_PARAMS,
    seed: int = SEED,
    fits: MutableMapping[tuple[pd.Timestamp, pd.Timestamp], Any] | None = None,
) -> Trial:
    """The pooled candidate for ``pair``, a Trial beside ``modeling.evaluate_candidates``'."""
    cv = pooled_cross_validate(
        lambda: make_pooled(params, seed), book, pair, folds=folds, gap=gap, fits=fits
    )
    return Trial(POOLED, dict(params), cv)


def fit_pooled(
    book: pd.DataFrame,
    cutoff: date | pd.Timestamp,
    *,
    params: Mapping[str, Any] = DEFAULT_POOLED_PARAMS,
    seed: int = SEED,
    decided_by: date | pd.Timestamp | None = None,
) -> Pipeline:
    """The final pooled model, fitted on every pair's rows dated ``cutoff`` or earlier
    (and, with ``decided_by``, whose target's close is dated then or earlier: pass the
    day before the first test day, so that no pair lacking a bar lends a label decided
    inside the test window)."""
    rows = book_rows(book)
    limit = None if decided_by is None else pd.Timestamp(decided_by)
    train = fold_rows(rows, pd.Timestamp(cutoff), limit)
    if train.empty:
        raise ValueError(f"the book has no rows dated {cutoff} or earlier; nothing to train on")
    with threadpool_limits(limits=1):  # see ONE_THREAD
        return make_pooled(params, seed).fit(*xy(train))
