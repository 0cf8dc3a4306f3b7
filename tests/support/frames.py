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
