"""Realized accuracy of the stored forecasts: one definition per window, one interval.

A window of N is the newest N resolved forecasts (fewer while fewer are resolved; ``n``
says how many); ``None`` is every resolved forecast. Accuracy is the share right; the
always-up baseline is scored on exactly the same forecasts, so every percentage compares
like with like. The page's cards and chart, ``/monitoring``'s performance rows and
``fx run``'s monitoring line all come from ``realized_accuracy`` (the performance asset
stores its numbers), so each surface shows the same figure.

The interval is the exact binomial (Clopper-Pearson) 95 % band. Why this one: it needs no
resampling (the page's cards drew 1,000 block-bootstrap resamples per window and refresh,
the monitoring chart already used this band: one page showed both), so any surface gets
it from n and the hits alone; it is valid at the 20-forecast window, where a normal
approximation is poor; and it is the same binomial model as the exact test the
performance monitoring decides with. Its cost: it treats each day as an independent
trial, where the moving-block bootstrap allowed for runs of hits (a model that follows a
trend is right or wrong for days together), so on such a stretch the band is narrower
than the truth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from scipy import stats

from fx_assets.core.readmodel.predictions import resolved

# The page's cards, in order: every resolved forecast, then the newest 60 and 20.
SUMMARY_WINDOWS: tuple[int | None, ...] = (None, 60, 20)
# The trailing window of the accuracy chart, and of fx run's monitoring line.
ROLLING_WINDOW = 60
LEVEL = 0.95


def exact_interval(hits: np.ndarray | int, n: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """Clopper-Pearson ``LEVEL`` band of hits out of n (elementwise; 0..1 where n is 0)."""
    k = np.asarray(hits, dtype=float)
    m = np.asarray(n, dtype=float)
    tail = (1 - LEVEL) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        low = stats.beta.ppf(tail, k, m - k + 1)
        high = stats.beta.ppf(1 - tail, k + 1, m - k)
    return np.nan_to_num(low, nan=0.0), np.nan_to_num(high, nan=1.0)


@dataclass(frozen=True)
class Accuracy:
    """Directional accuracy of the model and of always-up over the same forecasts."""

    window: int | None  # None: every resolved forecast
    n: int
    hits: int
    baseline_hits: int
    first: date | None
    last: date | None
    ci_low: float | None
    ci_high: float | None

    @property
    def label(self) -> str:
        return "overall" if self.window is None else f"last {self.window}"

    @property
    def accuracy(self) -> float | None:
        return self.hits / self.n if self.n else None

    @property
    def baseline_accuracy(self) -> float | None:
        return self.baseline_hits / self.n if self.n else None

    @property
    def complete(self) -> bool:
        """False when fewer forecasts are resolved than the window asks for."""
        return self.window is None or self.n >= self.window


def _outcomes(done: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Hits and up days of resolved rows (``direction`` and ``actual`` known)."""
    actual = done["actual"].to_numpy(dtype=int)
    return done["direction"].to_numpy(dtype=int) == actual, actual == 1


def realized_accuracy(joined: pd.DataFrame, window: int | None = ROLLING_WINDOW) -> Accuracy:
    """Accuracy over the newest ``window`` resolved forecasts of ``joined`` (the output of
    ``join_outcomes``); every resolved one if None."""
    done = resolved(joined)
    if window is not None:
        done = done.tail(window)
    n = len(done)
    hits, ups = _outcomes(done)
    low, high = exact_interval(int(hits.sum()), n)
    dates = pd.to_datetime(done["feature_date"])
    return Accuracy(
        window=window,
        n=n,
        hits=int(hits.sum()),
        # Always-up predicts 1 every day: it is right exactly when the target is 1.
        baseline_hits=int(ups.sum()),
        first=dates.iloc[0].date() if n else None,
        last=dates.iloc[-1].date() if n else None,
        ci_low=float(low) if n else None,
        ci_high=float(high) if n else None,
    )


def accuracy_summary(joined: pd.DataFrame) -> list[Accuracy]:
    """Every resolved forecast, then the newest 60 and 20 (``SUMMARY_WINDOWS``)."""
    done = resolved(joined)
    return [realized_accuracy(done, w) for w in SUMMARY_WINDOWS]


def rolling_accuracy(joined: pd.DataFrame, window: int = ROLLING_WINDOW) -> pd.DataFrame:
    """Per resolved forecast: accuracy over the trailing ``window`` (fewer at the start;
    ``n`` says how many), its exact band, and always-up on the same days."""
    done = resolved(joined)
    hits, ups = _outcomes(done)
    n = pd.Series(hits, dtype=float).rolling(window, min_periods=1).count()
    k = pd.Series(hits, dtype=float).rolling(window, min_periods=1).sum()
    low, high = exact_interval(k.to_numpy(), n.to_numpy())
    return pd.DataFrame(
        {
            "feature_date": pd.to_datetime(done["feature_date"]).to_numpy(),
            "n": n.astype(int).to_numpy(),
            "accuracy": (k / n).to_numpy(),
            "ci_low": low,
            "ci_high": high,
            "baseline_accuracy": pd.Series(ups, dtype=float).rolling(window, 1).mean().to_numpy(),
        }
    )
