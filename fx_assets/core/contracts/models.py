"""Contract of the stored forecasts: one row per feature date, never rewritten."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from fx_assets.core.contracts.base import (
    Col,
    TableContract,
    binary,
    non_empty,
    probability,
    rows_check,
    unique,
    weekday,
)
from fx_assets.core.domain import THRESHOLD


def _direction_matches_threshold(df: pd.DataFrame) -> pd.Series:
    return df["direction"] == (df["probability_up"] >= THRESHOLD).astype(int)


def _target_after_feature(df: pd.DataFrame) -> pd.Series:
    return df["target_date"] > df["feature_date"]


PREDICTIONS = TableContract(
    name="fx_predictions",
    seed_name="eur_usd_predictions",
    description="The champion's forecast for each trading day, stored once and never rewritten.",
    columns=(
        Col("feature_date", sa.Date, "the day whose features were scored", checks=(weekday(),)),
        Col("target_date", sa.Date, "the trading day forecast", checks=(weekday(),)),
        Col("probability_up", sa.Float, "P(next close higher)", checks=(probability(),)),
        Col("direction", sa.Integer, "1 up, 0 flat or down", checks=(binary(),), dtype=int),
        Col("model_name", sa.String, "registered model", size=128, checks=(non_empty(),)),
        Col("model_version", sa.String, "its version", size=32, checks=(non_empty(),)),
        Col("predicted_at", sa.DateTime, "when it was scored"),
        Col(
            "out_of_range",
            sa.String,
            "features outside the model's training ranges, as JSON: feature -> {side (above"
            " or below), value, limit (the bound passed), factor (value / limit)}; empty when"
            " all were in range, and on rows of older releases",
            nullable=True,
            size=2000,
            # Added after the table's first release; a writer may leave it out.
            required=False,
        ),
    ),
    key=("feature_date",),
    checks=(
        unique(("feature_date",), name="feature_dates_unique"),
        rows_check("target_after_feature_date", _target_after_feature),
        rows_check("direction_matches_threshold", _direction_matches_threshold),
    ),
)
