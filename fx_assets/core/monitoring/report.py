"""Both monitoring tables for the champion in one call: what the assets and the bench run.

Dagster-free. The reference of both tables is the champion's own training rows: the
``fx_final`` rows up to its ``training_cutoff`` tag (training reads its rows from
there), scored by the champion itself for the prediction-drift reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np
import pandas as pd

from fx_assets.core.domain import TARGET
from fx_assets.core.monitoring import drift, performance
from fx_assets.core.readmodel.predictions import join_outcomes, resolved


class Model(Protocol):
    """What monitoring needs of a model (``Champion`` has it)."""

    version: str
    features: tuple[str, ...]
    training_cutoff: date

    def probability_up(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class Tables:
    drift: pd.DataFrame
    performance: pd.DataFrame


def training_rows(final: pd.DataFrame, model: Model) -> pd.DataFrame:
    rows = final[pd.to_datetime(final["date"]) <= pd.Timestamp(model.training_cutoff)]
    return rows[rows[TARGET].notna()]


def monitor(
    final: pd.DataFrame,
    predictions: pd.DataFrame,
    model: Model,
    window: int = drift.DEFAULT_WINDOW,
    rate: float = drift.DEFAULT_RATE,
) -> Tables:
    """``fx_drift`` and ``fx_performance`` rows for ``model`` on these tables."""
    features = list(model.features)
    drift_rows = drift.feature_drift(
        final, features, model.training_cutoff, model.version, window, rate=rate
    )
    train = training_rows(final, model)
    reference = None
    if len(train):
        p = model.probability_up(train[features].to_numpy(dtype=float))
        reference = performance.reference_of(p, train[TARGET].to_numpy(dtype=int))
    # Only this model's predictions: a table of another version's calls says nothing of it.
    mine = predictions[predictions["model_version"].astype(str) == str(model.version)]
    done = resolved(join_outcomes(mine, final[["date", "target"]]))
    perf = performance.performance(done, reference)
    if len(perf):
        perf["model_version"] = str(model.version)
    return Tables(drift=drift_rows, performance=perf)
