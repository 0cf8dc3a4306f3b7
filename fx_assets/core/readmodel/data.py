"""The data behind every forecast: how current the bars are, table spans, quarantined rows.

Every read is one pair's (``pair``, default the book's first, EUR/USD).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from fx_assets.core.contracts import FINAL, RAW, RAW_REJECTED, STAGING, TEST, TableContract
from fx_assets.core.ingestion.freshness import Freshness, freshness
from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.readmodel.stores import pair_code
from fx_assets.core.warehouse import Warehouse

PRICE_COLUMNS = ["date", "open", "high", "low", "close"]


@dataclass(frozen=True)
class Span:
    """One table's row count and first and last key date."""

    table: str
    rows: int
    first: date | None
    last: date | None


def spans(
    wh: Warehouse,
    tables: tuple[TableContract, ...] = (RAW, STAGING, FINAL),
    *,
    pair: str = DEFAULT_PAIR,
) -> list[Span]:
    """Rows and date span of each table for ``pair`` (``fx run``'s data summary)."""
    view = wh.for_pair(pair_code(pair))
    return [Span(t.name, view.count(t), *view.date_range(t)) for t in tables]


def newest_bar(wh: Warehouse, *, pair: str = DEFAULT_PAIR) -> date | None:
    """The newest bar of ``pair`` in the raw table: the data every forecast is made from."""
    return wh.date_range(RAW, pair=pair_code(pair))[1] if wh.has(RAW) else None


def newest_features(wh: Warehouse, *, pair: str = DEFAULT_PAIR) -> date | None:
    """The newest feature date of ``pair``: a forecast older than it is about to be replaced."""
    return wh.date_range(FINAL, pair=pair_code(pair))[1] if wh.has(FINAL) else None


def data_status(
    wh: Warehouse, today: date, stale_after: int, *, pair: str = DEFAULT_PAIR
) -> Freshness:
    """How far ``pair``'s newest bar is behind the last completed trading day as of ``today``."""
    return freshness(newest_bar(wh, pair=pair), today, stale_after)


def prices(wh: Warehouse, start: date | None = None, *, pair: str = DEFAULT_PAIR) -> pd.DataFrame:
    """``pair``'s daily bars from ``start`` (all if None), oldest first; low/high/open may be
    null."""
    return wh.read(RAW, start=start, columns=PRICE_COLUMNS, pair=pair_code(pair))


def quarantined(wh: Warehouse, *, pair: str = DEFAULT_PAIR) -> pd.DataFrame | None:
    """``pair``'s quarantined bars (date, rule), oldest first; None before the table exists."""
    if not wh.has(RAW_REJECTED):
        return None
    return wh.read(RAW_REJECTED, columns=["date", "rule"], pair=pair_code(pair))


def test_set(wh: Warehouse, *, pair: str = DEFAULT_PAIR) -> pd.DataFrame:
    """``pair``'s current test rows (what ``fx promote`` scores the versions on)."""
    return wh.read(TEST, pair=pair_code(pair))
