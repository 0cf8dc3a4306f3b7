"""Walk-forward backtest of a model recipe over the whole history, beside three baselines.

Dagster-free. The recipe (family and parameters, built by ``make_estimator``) is refit
every ``refit_days`` rows on every row before the refit date minus ``gap`` rows, and
predicts the block of rows up to the next refit. The first fit sees exactly
``min_train`` rows. A prediction is therefore always made by a model that saw only
earlier rows (a hypothesis property test proves it), which is what the single test
window of the training cannot say: how the recipe would have done, month after month,
since 2003.

Speed. Each refit is independent (the same seed, its own rows), so the blocks run on a
pool of workers; the result does not depend on how many. The feature matrix is
converted to a float array once, not per refit; an estimator's own thread pool is
pinned to one thread so workers do not fight over the cores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from threadpoolctl import threadpool_limits

from fx_assets.core.domain import BASELINES, FEATURES, TARGET, THRESHOLD
from fx_assets.core.training.modeling import SEED, make_estimator
from fx_assets.core.training.splits import DEFAULT_GAP_DAYS, InsufficientHistoryError

DEFAULT_MIN_TRAIN_DAYS = 1000
DEFAULT_REFIT_DAYS = 21  # about one calendar month of trading days

COLUMNS = [
    "feature_date",
    "target_date",
    "trained_through",
    "probability_up",
    "direction",
    "actual",
    *BASELINES,
]


@dataclass(frozen=True)
class Block:
    """Rows ``[0, train_end)`` train the model that predicts rows ``[start, end)``."""

    train_end: int
    start: int
    end: int


def walk_forward_blocks(n_rows: int, *, min_train: int, refit_days: int, gap: int) -> list[Block]:
    """The refit blocks over ``n_rows`` time-ordered rows (see the module docstring)."""
    if min_train < 1 or refit_days < 1 or gap < 0:
        raise ValueError(
            f"backtest needs min_train >= 1, refit_days >= 1 and gap >= 0;"
            f" got {min_train}, {refit_days}, {gap}"
        )
    first = min_train + gap
    if n_rows <= first:
        raise InsufficientHistoryError(
            f"the backtest has {n_rows} rows with a known target and needs more than {first}"
            f" ({min_train} training + {gap} gap): ingest more history or lower"
            " FX_BACKTEST_MIN_TRAIN_DAYS"
        )
    return [
        Block(train_end=start - gap, start=start, end=min(start + refit_days, n_rows))
        for start in range(first, n_rows, refit_days)
    ]


def _single_threaded(model: Any) -> Any:
    # Only pools that are set: LogisticRegression's n_jobs is None and deprecated.
    params = model.get_params()
    pinned = {
        k: 1
        for k, v in params.items()
        if (k == "n_jobs" or k.endswith("__n_jobs")) and v is not None
    }
    return model.set_params(**pinned) if pinned else model


@dataclass(frozen=True)
class Pooled:
    """Training rows other than the pair's own: the book's (``pooled``), each block fitted
    on ``x[masks[i]]``, ``y[masks[i]]`` (rows of every pair known before the block)."""

    x: np.ndarray
    y: np.ndarray
    masks: dict[int, np.ndarray]


def _fit_predict(
    make: Callable[[], Any],
    x: np.ndarray,
    y: np.ndarray,
    blocks: Sequence[Block],
    pooled: Pooled | None = None,
) -> list[np.ndarray]:
    out = []
    # One BLAS/OpenMP thread per fit, as for the estimators' own pools: OpenBLAS' default
    # (a thread per core) made a pooled logistic fit on ~50k rows 8 times slower (0.59 s
    # against 0.075 s), and worse when another pair's backtest runs beside it.
    with threadpool_limits(limits=1):
        for block in blocks:
            model = _single_threaded(make())
            if pooled is None:
                model.fit(x[: block.train_end], y[: block.train_end])
            else:
                mask = pooled.masks[block.start]
                model.fit(pooled.x[mask], pooled.y[mask])
            proba = model.predict_proba(x[block.start : block.end])
            out.append(proba[:, list(model.classes_).index(1)])
    return out


def _pooled(book: pd.DataFrame, dates: pd.Series, blocks: list[Block]) -> Pooled:
    from fx_assets.core.training.pooled import book_rows, fold_rows

    rows = book_rows(book).reset_index(drop=True)
    index = pd.Series(np.arange(len(rows)))
    masks = {}
    for block in blocks:
        end, decided = dates.iloc[block.train_end - 1], dates.iloc[block.train_end]
        keep = fold_rows(rows.assign(_i=index), end, decided)["_i"].to_numpy()
        mask = np.zeros(len(rows), dtype=bool)
        mask[keep] = True
        masks[block.start] = mask
    return Pooled(
        x=rows[FEATURES].to_numpy(dtype=float), y=rows[TARGET].to_numpy(dtype=int), masks=masks
    )


def _balanced_chunks(blocks: list[Block], chunks: int) -> list[list[Block]]:
    # Later blocks train on more rows and cost more: dealing them out round-robin gives
    # every chunk a similar share of small and large fits.
    return [blocks[i::chunks] for i in range(chunks) if blocks[i::chunks]]


def predict_walk_forward(
    make: Callable[[], Any],
    x: np.ndarray,
    y: np.ndarray,
    blocks: list[Block],
    *,
    n_jobs: int = 2,
    pooled: Pooled | None = None,
) -> np.ndarray:
    """P(up) for every row of ``blocks``, in row order; NaN for rows no block predicts.

    ``make`` returns a fresh unfitted classifier (picklable: workers are processes).
    ``pooled``: fit each block on the book's rows instead of the pair's earlier ones.
    """
    workers = max(1, min(n_jobs, len(blocks)))
    # Several chunks per worker: a slow chunk on a busy core does not hold up the rest.
    chunks = _balanced_chunks(blocks, workers * 4 if workers > 1 else 1)
    if workers == 1:
        results = [_fit_predict(make, x, y, chunk, pooled) for chunk in chunks]
    else:
        results = Parallel(n_jobs=workers, backend="loky")(
            delayed(_fit_predict)(make, x, y, chunk, pooled) for chunk in chunks
        )
    p = np.full(len(x), np.nan)
    for chunk, probas in zip(chunks, results, strict=True):
        for block, proba in zip(chunk, probas, strict=True):
            p[block.start : block.end] = proba
    return p


def backtest(
    final: pd.DataFrame,
    *,
    family: str | None = None,
    params: Mapping[str, Any] | None = None,
    estimator: Any = None,
    min_train: int = DEFAULT_MIN_TRAIN_DAYS,
    refit_days: int = DEFAULT_REFIT_DAYS,
    gap: int = DEFAULT_GAP_DAYS,
    seed: int = SEED,
    n_jobs: int = 2,
    book: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per predicted feature date of a pair's ``fx_final`` (the columns of COLUMNS).

    ``book``: the modelling rows of every pair (``pair``, ``date``, FEATURES, target), for a
    pooled recipe: each block is then fitted on the rows of every pair dated up to the
    block's last training day and decided by the day after it (the pooled family's rule,
    ``pooled.fold_rows``), and predicts this pair's rows as any other recipe.

    The recipe is ``family`` with ``params`` (``make_estimator``), or ``estimator``, a
    model whose unfitted clone is refit each block: the champion itself, so the backtest
    evaluates exactly its family and tuned parameters.

    ``target_date`` is the next row's date (the close that decides ``actual``);
    ``trained_through`` the date of the last row the predicting model was fitted on.
    Baselines: ``always_up`` is 1; ``persistence`` repeats the day's own move (1 when
    ``ret_1d`` > 0, matching the target's "strictly higher"); ``momentum`` is 1 when the
    20-day return ``ret_20d`` is positive.
    """
    rows = final.sort_values("date").reset_index(drop=True)
    rows = rows.assign(target_date=rows["date"].shift(-1))
    rows = rows[rows[TARGET].notna()].reset_index(drop=True)
    x = rows[FEATURES].to_numpy(dtype=float)
    y = rows[TARGET].to_numpy(dtype=int)
    blocks = walk_forward_blocks(len(rows), min_train=min_train, refit_days=refit_days, gap=gap)
    if estimator is not None:
        make: Callable[[], Any] = partial(clone, clone(estimator))
    elif family is not None:
        make = partial(make_estimator, family, dict(params or {}), seed)
    else:
        raise ValueError("backtest needs a recipe: family and params, or an estimator")
    pooled = None if book is None else _pooled(book, pd.to_datetime(rows["date"]), blocks)
    p = predict_walk_forward(make, x, y, blocks, n_jobs=n_jobs, pooled=pooled)
    trained_through = np.full(len(rows), -1)
    for block in blocks:
        trained_through[block.start : block.end] = block.train_end - 1
    predicted = slice(blocks[0].start, len(rows))
    dates = pd.to_datetime(rows["date"])
    part = rows.iloc[predicted]
    return pd.DataFrame(
        {
            "feature_date": dates.iloc[predicted].to_numpy(),
            "target_date": pd.to_datetime(part["target_date"]).to_numpy(),
            "trained_through": dates.to_numpy()[trained_through[predicted]],
            "probability_up": p[predicted],
            "direction": (p[predicted] >= THRESHOLD).astype(int),
            "actual": y[predicted],
            "always_up": np.ones(len(part), dtype=int),
            "persistence": (part["ret_1d"].to_numpy(dtype=float) > 0).astype(int),
            "momentum": (part["ret_20d"].to_numpy(dtype=float) > 0).astype(int),
        },
        columns=COLUMNS,
    )
