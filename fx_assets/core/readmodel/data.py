"""The data behind every forecast: how current the bars are, table spans, quarantined rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from fx_assets.core.contracts import FINAL, RAW, RAW_REJECTED, STAGING, TEST, TableContract
from fx_assets.core.ingestion.freshness import Freshness, freshness
from fx_assets.core.warehouse import Warehouse

PRICE_COLUMNS = ["date", "open", "high", "low", "close"]


@dataclass(frozen=True)
class Span:
    """One table's row count and first and last key date."""

    table: str
    rows: int
    first: date | None
    last: date | None


def spans(wh: Warehouse, tables: tuple[TableContract, ...] = (RAW, STAGING, FINAL)) -> list[Span]:
    """Rows and date span of each table (``fx run``'s data summary)."""
    return [Span(t.name, wh.count(t), *wh.date_range(t)) for t in tables]


def newest_bar(wh: Warehouse) -> date | None:
    """The newest bar in the raw table: the data every forecast is made from."""
    return wh.date_range(RAW)[1] if wh.has(RAW) else None


def newest_features(wh: Warehouse) -> date | None:
    """The newest feature date: a forecast older than it is about to be replaced."""
    return wh.date_range(FINAL)[1] if wh.has(FINAL) else None


def data_status(wh: Warehouse, today: date, stale_after: int) -> Freshness:
    """How far the newest bar is behind the last completed trading day as of ``today``."""
    return freshness(newest_bar(wh), today, stale_after)


def prices(wh: Warehouse, start: date | None = None) -> pd.DataFrame:
    """Daily bars from ``start`` (all if None), oldest first; low/high/open may be null."""
    return wh.read(RAW, start=start, columns=PRICE_COLUMNS)


def quarantined(wh: Warehouse) -> pd.DataFrame | None:
    """Quarantined bars (date, rule), oldest first; None before the table exists."""
    return wh.read(RAW_REJECTED, columns=["date", "rule"]) if wh.has(RAW_REJECTED) else None


def test_set(wh: Warehouse) -> pd.DataFrame:
    """The current test rows (what ``fx promote`` scores the versions on)."""
    return wh.read(TEST)
