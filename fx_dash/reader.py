"""Everything the page's top panels show, read in one snapshot through the read model.

The dashboard never writes: the read model opens the warehouse read-only. A missing
table or an unreachable server becomes a one-line message, not an exception.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd
import sqlalchemy as sa

from fx_assets.core.bootstrap import bootstrap_status
from fx_assets.core.contracts import FINAL, RAW
from fx_assets.core.pairs import DEFAULT_PAIR, Pair
from fx_assets.core.readmodel import data
from fx_assets.core.readmodel.predictions import join_outcomes, predictions_with_outcomes
from fx_assets.core.readmodel.stores import no_data_message, open_warehouse, unreachable_message

RANGES: dict[str, pd.DateOffset | None] = {
    "1M": pd.DateOffset(months=1),
    "6M": pd.DateOffset(months=6),
    "1Y": pd.DateOffset(years=1),
    "5Y": pd.DateOffset(years=5),
    "All": None,
}
DEFAULT_RANGE = "6M"


@dataclass
class Snapshot:
    """What the page shows of one pair, read in one go; ``message`` set means there is
    nothing to show."""

    pair: str = DEFAULT_PAIR
    prices: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=data.PRICE_COLUMNS))
    predictions: pd.DataFrame = field(default_factory=lambda: join_outcomes(None, None))
    newest_price: date | None = None
    newest_final: date | None = None
    # Quarantined bars (date, rule), for the data-quality line; None before the table exists.
    rejected: pd.DataFrame | None = None
    message: str | None = None
    problem: bool = False
    # What the first start (the bootstrap sensor) is doing while the warehouse fills.
    first_start: str | None = None


def window_start(newest: date | None, range_key: str) -> date | None:
    """First date of the chart window ending at the newest bar (None: the whole history)."""
    offset = RANGES.get(range_key, RANGES[DEFAULT_RANGE])
    if newest is None or offset is None:
        return None
    return (pd.Timestamp(newest) - offset).date()


def load_snapshot(
    url: str, range_key: str = DEFAULT_RANGE, *, prices: bool = True, pair: str = DEFAULT_PAIR
) -> Snapshot:
    """Read ``pair``'s prices in the chart window (unless ``prices`` is false), predictions
    and their outcomes; never raises for a missing or unreachable warehouse."""
    nothing = no_data_message(url)
    if nothing:
        return Snapshot(pair=pair, message=nothing)
    try:
        wh = open_warehouse(url)
        status = bootstrap_status(wh)
        first_start = None if status is None or status.done else status.message()
        missing = [t.name for t in (RAW, FINAL) if not wh.has(t)]
        if missing:
            return Snapshot(
                pair=pair,
                message=first_start
                or f"No data yet: the warehouse has no {', '.join(missing)}. "
                "Run `fx run` to fill it.",
            )
        newest_price = data.newest_bar(wh, pair=pair)
        if newest_price is None:
            label = Pair.parse(pair).label
            return Snapshot(
                pair=pair,
                message=first_start
                or f"No data yet: fx_raw has no {label} bars. Run `fx run` to fill it.",
            )
        bars = (
            data.prices(wh, window_start(newest_price, range_key), pair=pair)
            if prices
            else pd.DataFrame(columns=data.PRICE_COLUMNS)
        )
        return Snapshot(
            pair=pair,
            prices=bars,
            predictions=predictions_with_outcomes(wh, pair=pair),
            newest_price=newest_price,
            newest_final=data.newest_features(wh, pair=pair),
            rejected=data.quarantined(wh, pair=pair),
            first_start=first_start,
        )
    except sa.exc.SQLAlchemyError as exc:
        return Snapshot(
            pair=pair,
            message=f"{unreachable_message(exc, url)}. The page retries on its next refresh.",
            problem=True,
        )
