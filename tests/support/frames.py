"""Builders of small frames the dashboard and data tests share (not a test module)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd


def predictions_frame(directions: list[int], start: str = "2024-01-01") -> pd.DataFrame:
    feature_dates = pd.bdate_range(start, periods=len(directions))
    return pd.DataFrame(
        {
            "feature_date": feature_dates,
            "target_date": feature_dates + pd.offsets.BDay(1),
            "probability_up": [0.6 if d else 0.4 for d in directions],
            "direction": directions,
            "model_name": "eur_usd_direction",
            "model_version": "3",
            "predicted_at": datetime(2024, 6, 1, tzinfo=UTC),
        }
    )


def final_frame(dates: pd.Series | pd.DatetimeIndex, targets: list[int | None]) -> pd.DataFrame:
    return pd.DataFrame({"date": pd.to_datetime(dates), "target": pd.array(targets, "Int64")})


def digest(path: Path) -> str:
    """A file's content hash: proves a reader left it untouched."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw_bars(dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Flat OHLC bars on ``dates``, as the writer stores them."""
    return pd.DataFrame(
        {
            "date": dates,
            "open": 1.1,
            "high": 1.11,
            "low": 1.09,
            "close": 1.1,
            "source": "csv",
            "ingested_at": datetime(2024, 1, 1, tzinfo=UTC),
        }
    )


def backtest_summary_frame(always_up_p: float = 0.41, pair: str = "EURUSD") -> pd.DataFrame:
    """A backtest summary of ``pair``: the model and the three baselines, with p-values of
    the model against each (always-up 0.41: indistinguishable; persistence 0.03: better)."""
    from fx_assets.core.contracts import BACKTEST_SUMMARY
    from fx_assets.core.evaluation.summary import SUMMARY_COLUMNS

    rows = []
    for strategy, accuracy, p in (
        ("model", 0.512, None),
        ("always_up", 0.503, always_up_p),
        ("persistence", 0.49, 0.03),
        ("momentum", 0.50, 0.2),
    ):
        row = dict.fromkeys(SUMMARY_COLUMNS)
        row.update(
            pair=pair,
            strategy=strategy,
            n=6000,
            accuracy=accuracy,
            accuracy_ci_low=accuracy - 0.013,
            accuracy_ci_high=accuracy + 0.013,
            p_value=p,
        )
        rows.append(row)
    return BACKTEST_SUMMARY.validate(pd.DataFrame(rows))


def simulated_final(days: int, *, seed: int, start: str = "2024-08-01", close: float = 1.27):
    """A pair's ``fx_final`` rows from a simulated random walk of ``days`` trading days
    (for a pair the branch's sources cannot give yet): no skill to find, by construction."""
    import numpy as np

    from fx_assets.core.contracts import FINAL
    from fx_assets.core.features import build_features, build_final

    rng = np.random.default_rng(seed)
    closes = close * np.exp(np.cumsum(rng.normal(0, 0.006, days)))
    raw = pd.DataFrame({"date": pd.bdate_range(start, periods=days), "close": closes})
    return FINAL.validate(build_final(build_features(raw)))
