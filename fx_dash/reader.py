"""Read-only access to the warehouse: everything the page shows, in one snapshot.

The dashboard never writes. SQLite is opened with ``mode=ro`` (and ``query_only``),
PostgreSQL in read-only transactions, so even a bug in the page cannot change a row.
A missing table or an unreachable server becomes a one-line message, not an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from fx_assets.core.bootstrap import bootstrap_status
from fx_assets.core.contracts import FINAL, PREDICTIONS, RAW, RAW_REJECTED
from fx_assets.core.redaction import one_line, redact_url
from fx_assets.core.settings import sqlite_path
from fx_assets.core.warehouse import Warehouse, normalize_url
from fx_dash.metrics import join_outcomes

PRICE_COLUMNS = ["date", "open", "high", "low", "close"]
RANGES: dict[str, pd.DateOffset | None] = {
    "1M": pd.DateOffset(months=1),
    "6M": pd.DateOffset(months=6),
    "1Y": pd.DateOffset(years=1),
    "5Y": pd.DateOffset(years=5),
    "All": None,
}
DEFAULT_RANGE = "6M"


def _one_line(exc: BaseException, url: str) -> str:
    return one_line(exc, secrets=[make_url(normalize_url(url)).password])


@dataclass
class Snapshot:
    """What the page shows, read in one go; ``message`` set means there is nothing to show."""

    prices: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PRICE_COLUMNS))
    predictions: pd.DataFrame = field(default_factory=lambda: join_outcomes(None, None))
    newest_price: date | None = None
    newest_final: date | None = None
    # Quarantined bars (date, rule), for the data-quality line; None before the table exists.
    rejected: pd.DataFrame | None = None
    message: str | None = None
    problem: bool = False
    # While the first start fills an empty warehouse (fx up, compose): which step it is on.
    first_start: str | None = None


def window_start(newest: date | None, range_key: str) -> date | None:
    """First date of the chart window ending at the newest bar (None: the whole history)."""
    offset = RANGES.get(range_key, RANGES[DEFAULT_RANGE])
    if newest is None or offset is None:
        return None
    return (pd.Timestamp(newest) - offset).date()


def load_snapshot(url: str, range_key: str = DEFAULT_RANGE, *, prices: bool = True) -> Snapshot:
    """Read prices in the chart window (unless ``prices`` is false), predictions and their
    outcomes; never raises for a missing or unreachable warehouse."""
    where = redact_url(url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return Snapshot(message=f"No data yet: {path} does not exist. Run `fx run` to fill it.")
    try:
        wh = Warehouse.cached(url, read_only=True)
        status = bootstrap_status(wh)
        first_start = None if status is None or status.done else status.message()
        missing = [t.name for t in (RAW, FINAL) if not wh.has(t)]
        has_predictions = wh.has(PREDICTIONS)
        if missing:
            return Snapshot(
                message=f"No data yet: the warehouse has no {', '.join(missing)}. "
                "Run `fx run` to fill it."
            )
        _, newest_price = wh.date_range(RAW)
        if newest_price is None:
            return Snapshot(
                message=first_start or "No data yet: eur_usd_raw is empty. Run `fx run` to fill it."
            )
        _, newest_final = wh.date_range(FINAL)
        bars = (
            wh.read(RAW, start=window_start(newest_price, range_key), columns=PRICE_COLUMNS)
            if prices
            else pd.DataFrame(columns=PRICE_COLUMNS)
        )
        predictions = wh.read(PREDICTIONS) if has_predictions else None
        rejected = wh.read(RAW_REJECTED, columns=["date", "rule"]) if wh.has(RAW_REJECTED) else None
        outcomes = None
        if predictions is not None and len(predictions):
            outcomes = wh.read(
                FINAL,
                start=predictions["feature_date"].min().date(),
                columns=["date", "target"],
            )
    except sa.exc.SQLAlchemyError as exc:
        return Snapshot(
            message=f"Warehouse unreachable ({where}): {_one_line(exc, url)}. "
            "The page retries on its next refresh.",
            problem=True,
        )
    return Snapshot(
        prices=bars,
        predictions=join_outcomes(predictions, outcomes),
        newest_price=newest_price,
        newest_final=newest_final,
        rejected=rejected,
        first_start=first_start,
    )
