"""Stored forecasts and their outcomes: the one join, and the reads built on it.

A forecast made on feature date t is *resolved* once ``fx_final`` (of its pair) knows the target of
date t (did the next trading day close higher). Outcomes are not stored on predictions,
so every surface that shows them (the page's table and accuracy, ``/predictions``, the
performance monitoring) joins here, the same way.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from fx_assets.core.contracts import FINAL, PREDICTIONS
from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.readmodel.rows import records
from fx_assets.core.readmodel.stores import pair_code
from fx_assets.core.warehouse import Warehouse

PREDICTION_COLUMNS = PREDICTIONS.column_names


def join_outcomes(predictions: pd.DataFrame | None, final: pd.DataFrame | None) -> pd.DataFrame:
    """Predictions, oldest first, with ``actual`` (target of the feature date, <NA> while
    unknown) and ``correct`` (direction == actual, <NA> while unknown)."""
    if predictions is None or predictions.empty:
        out = pd.DataFrame({c: pd.Series(dtype="object") for c in PREDICTION_COLUMNS})
        out["actual"] = pd.Series(dtype="Int64")
        out["correct"] = pd.Series(dtype="boolean")
        return out
    # The contract's columns it has: the monitoring passes only what it scores.
    preds = predictions[[c for c in PREDICTION_COLUMNS if c in predictions]].copy()
    for column in ("feature_date", "target_date"):
        if column in preds:
            preds[column] = pd.to_datetime(preds[column])
    preds["probability_up"] = preds["probability_up"].astype(float)
    preds["direction"] = preds["direction"].astype("Int64")
    if final is None or final.empty:
        targets = pd.Series(dtype="Int64")
    else:
        targets = pd.Series(
            final["target"].astype("Int64").to_numpy(), index=pd.to_datetime(final["date"])
        )
    preds["actual"] = preds["feature_date"].map(targets).astype("Int64")
    preds["correct"] = (preds["direction"] == preds["actual"]).astype("boolean")
    return preds.sort_values("feature_date").reset_index(drop=True)


def resolved(joined: pd.DataFrame) -> pd.DataFrame:
    """The joined predictions whose outcome is known, oldest first."""
    return joined[joined["actual"].notna()].reset_index(drop=True)


def predictions_with_outcomes(
    wh: Warehouse,
    start: date | None = None,
    end: date | None = None,
    *,
    pair: str = DEFAULT_PAIR,
) -> pd.DataFrame:
    """``pair``'s stored predictions with feature dates in [start, end], joined to their
    outcomes; the empty joined frame when the tables do not exist yet."""
    if not (wh.has(PREDICTIONS) and wh.has(FINAL)):
        return join_outcomes(None, None)
    code = pair_code(pair)
    # The pair column kept: a served row says whose forecast it is.
    stored = wh.read(PREDICTIONS, start=start, end=end, pair=code, columns=PREDICTION_COLUMNS)
    if stored.empty:
        return join_outcomes(None, None)
    outcomes = wh.read(
        FINAL,
        start=stored["feature_date"].min().date(),
        end=stored["feature_date"].max().date(),
        columns=["date", "target"],
        pair=code,
    )
    return join_outcomes(stored, outcomes)


def newest_forecast(wh: Warehouse, *, pair: str = DEFAULT_PAIR) -> dict[str, Any] | None:
    """``pair``'s stored prediction with the newest feature date (the forecast for the
    next trading day) as plain values, or None when there is none yet."""
    if not wh.has(PREDICTIONS):
        return None
    newest = wh.read(PREDICTIONS, newest=1, pair=pair_code(pair), columns=PREDICTION_COLUMNS)
    return None if newest.empty else records(newest)[0]
