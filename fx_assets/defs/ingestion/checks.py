"""Checks of the raw bars: the stored table honours its contract (blocking)."""

from fx_assets.core.contracts import RAW
from fx_assets.defs.contracts import contract_check

eur_usd_raw_schema = contract_check(
    RAW, "Stored bars: unique weekday dates, positive prices, consistent OHLC, plausible moves."
)
