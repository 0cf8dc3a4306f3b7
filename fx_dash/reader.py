"""Read-only access to the warehouse: everything the page shows, in one snapshot.

The dashboard never writes. SQLite is opened with ``mode=ro`` (and ``query_only``),
PostgreSQL in read-only transactions, so even a bug in the page cannot change a row.
A missing table or an unreachable server becomes a one-line message, not an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from fx_assets.core.settings import redact_url
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
NEEDED_TABLES = ("eur_usd_raw", "eur_usd_final", "eur_usd_predictions")


class WarehouseUnavailable(RuntimeError):
    """The warehouse cannot be read; the message is fit for the page."""


class ReadOnlyWarehouse(Warehouse):
    """The warehouse's readers on a connection that cannot write."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = read_only_engine(url)

    def _refuse(self, *args: Any, **kwargs: Any) -> int:
        raise PermissionError("the dashboard's warehouse connection is read-only")

    replace_range = replace_all = insert_new = _refuse


def _sqlite_read_only(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA query_only=ON")
    cur.close()


def read_only_engine(url: str) -> Engine:
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "").expanduser().resolve()
        engine = sa.create_engine(
            f"sqlite:///file:{quote(str(path))}?mode=ro&uri=true",
            connect_args={"timeout": 5},
        )
        sa.event.listen(engine, "connect", _sqlite_read_only)
        return engine
    return sa.create_engine(
        parsed,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5, "options": "-c default_transaction_read_only=on"},
    )


_READERS: dict[str, ReadOnlyWarehouse] = {}


def reader_for(url: str) -> ReadOnlyWarehouse:
    """One read-only engine per URL per process."""
    wh = _READERS.get(url)
    if wh is None:
        wh = _READERS[url] = ReadOnlyWarehouse(url)
    return wh


def sqlite_file(url: str) -> Path | None:
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite":
        return None
    return Path(parsed.database or "").expanduser().resolve()


def _one_line(exc: BaseException, url: str) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    password = make_url(normalize_url(url)).password
    if password:
        text = text.replace(str(password), "***")
    return re.sub(r"\s+", " ", text)[:200]


@dataclass
class Snapshot:
    """What the page shows, read in one go; ``message`` set means there is nothing to show."""

    prices: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PRICE_COLUMNS))
    predictions: pd.DataFrame = field(default_factory=lambda: join_outcomes(None, None))
    newest_price: date | None = None
    newest_final: date | None = None
    message: str | None = None
    problem: bool = False


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
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return Snapshot(message=f"No data yet: {path} does not exist. Run `fx run` to fill it.")
    try:
        wh = reader_for(url)
        with wh.engine.connect() as conn:
            missing = [t for t in NEEDED_TABLES[:2] if not sa.inspect(conn).has_table(t)]
            has_predictions = sa.inspect(conn).has_table("eur_usd_predictions")
        if missing:
            return Snapshot(
                message=f"No data yet: the warehouse has no {', '.join(missing)}. "
                "Run `fx run` to fill it."
            )
        _, newest_price = wh.date_range("eur_usd_raw")
        if newest_price is None:
            return Snapshot(message="No data yet: eur_usd_raw is empty. Run `fx run` to fill it.")
        _, newest_final = wh.date_range("eur_usd_final")
        bars = (
            wh.read(
                "eur_usd_raw", start=window_start(newest_price, range_key), columns=PRICE_COLUMNS
            )
            if prices
            else pd.DataFrame(columns=PRICE_COLUMNS)
        )
        predictions = wh.read("eur_usd_predictions") if has_predictions else None
        outcomes = None
        if predictions is not None and len(predictions):
            outcomes = wh.read(
                "eur_usd_final",
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
    )
