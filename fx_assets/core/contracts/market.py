"""Contracts of the market-data and feature tables: raw bars, rejects, staging, modelling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa

from fx_assets.core.contracts.base import (
    Col,
    TableContract,
    binary,
    finite,
    positive,
    rows_check,
    sorted_unique,
    unique,
    weekday,
)
from fx_assets.core.domain import FEATURES, TARGET

# The largest daily move of a major since 1999 is about 8% (GBP/USD, 2016; EUR/USD 4.7%,
# 2008); 15% means a bad tick.
MAX_DAILY_LOG_MOVE = 0.15


def _high_ok(df: pd.DataFrame) -> pd.Series:
    hi = df["high"]
    top = df[["open", "close"]].max(axis=1)
    return hi.isna() | (hi >= top - 1e-12)


def _low_ok(df: pd.DataFrame) -> pd.Series:
    lo = df["low"]
    bottom = df[["open", "close"]].min(axis=1)
    return lo.isna() | (lo <= bottom + 1e-12)


def _plausible_move(df: pd.DataFrame) -> pd.Series:
    moves = np.log(df["close"].astype(float)).diff().abs()
    return moves.isna() | (moves <= MAX_DAILY_LOG_MOVE)


def _only_newest_target_null(df: pd.DataFrame) -> bool:
    nulls = df[TARGET].isna()
    return bool(nulls.sum() == 0 or (nulls.sum() == 1 and nulls.iloc[-1]))


def _date(description: str = "trading day (UTC)") -> Col:
    return Col("date", sa.Date, description, checks=(weekday(),))


def _price(name: str, description: str, nullable: bool) -> Col:
    return Col(name, sa.Float, description, nullable=nullable, checks=(positive(),))


RAW = TableContract(
    name="fx_raw",
    seed_name="eur_usd_raw",
    description="Daily bars of each pair as the source sent them, after the row rules.",
    columns=(
        _date(),
        _price("open", "first price of the day (null: close-only source)", True),
        _price("high", "highest price of the day (null: close-only source)", True),
        _price("low", "lowest price of the day (null: close-only source)", True),
        _price(
            "close", "quote currency per unit of base at the close (ecb: the fixings' cross)", False
        ),
        Col("source", sa.String, "the source that sent the bar", size=32, required=False),
        Col("ingested_at", sa.DateTime, "when the bar was written", required=False),
    ),
    key=("date",),
    checks=(
        sorted_unique(),
        rows_check("high_at_least_open_close", _high_ok),
        rows_check("low_at_most_open_close", _low_ok),
        rows_check("plausible_daily_move", _plausible_move),
    ),
)

RAW_REJECTED = TableContract(
    name="fx_raw_rejected",
    seed_name="eur_usd_raw_rejected",
    description="Bars the row rules kept out of fx_raw, with the rule and the reason.",
    columns=(
        Col("date", sa.Date, "the bar's date as the source sent it"),
        Col("rule", sa.String, "the rule that quarantined it", size=64),
        Col("open", sa.Float, "open as sent", nullable=True),
        Col("high", sa.Float, "high as sent", nullable=True),
        Col("low", sa.Float, "low as sent", nullable=True),
        Col("close", sa.Float, "close as sent", nullable=True),
        Col("source", sa.String, "the source that sent the bar", size=32),
        Col("reason", sa.String, "why, in words a person can act on", size=512),
        Col("rejected_at", sa.DateTime, "when the bar was quarantined", required=False),
    ),
    key=("date", "rule"),
    checks=(unique(("date", "rule")),),
)

STAGING = TableContract(
    name="fx_staging",
    seed_name="eur_usd_staging",
    description="Causal daily features per trading day (warm-up rows hold nulls).",
    columns=(
        Col("date", sa.Date, "trading day"),
        _price("close", "close of the day", False),
        *[
            Col(f, sa.Float, f"feature {f}, from closes up to this day", nullable=True)
            for f in FEATURES
        ],
    ),
    key=("date",),
    checks=(sorted_unique(),),
)


def _model_table(name: str, description: str, *, target_nullable: bool) -> TableContract:
    """``fx_<name>``, seen under the seed's name ``eur_usd_<name>`` for the first pair."""
    checks = [sorted_unique()]
    if target_nullable:
        checks.append(rows_check("only_newest_target_null", _only_newest_target_null))
    target_doc = "1 if the next trading day closes higher, else 0"
    return TableContract(
        name=f"fx_{name}",
        seed_name=f"eur_usd_{name}",
        description=description,
        columns=(
            Col("date", sa.Date, "feature date"),
            *[Col(f, sa.Float, f"feature {f}", checks=(finite(),)) for f in FEATURES],
            Col(
                TARGET,
                sa.Integer,
                target_doc + (" (null on the newest row)" if target_nullable else ""),
                nullable=target_nullable,
                checks=(binary(),),
            ),
        ),
        key=("date",),
        checks=tuple(checks),
        strict="filter",
    )


FINAL = _model_table(
    "final",
    "Complete feature rows with the next-day direction; the newest row is the one to forecast.",
    target_nullable=True,
)
TRAIN = _model_table(
    "train",
    "Training rows of the current split (oldest), target known.",
    target_nullable=False,
)
TEST = _model_table(
    "test",
    "Test rows of the current split (newest, after a gap), target known.",
    target_nullable=False,
)
