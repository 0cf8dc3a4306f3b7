"""The trading-day partitions of ``eur_usd_raw``."""

from __future__ import annotations

from datetime import date

from dagster import TimeWindowPartitionsDefinition

from fx_assets.config import ECB_FIRST_DATE, load_settings

# One window per weekday; Friday's window runs to Monday 00:00 UTC.
TRADING_DAY_CRON = "0 0 * * 1-5"


def trading_day_partitions(start: date | None = None) -> TimeWindowPartitionsDefinition:
    """Weekday partitions from ``start`` (FX_START_DATE, else the ECB's first fixing).

    ``end_offset=1`` exposes the current weekday's partition, so Saturday's ETL run can
    ask for Friday, whose window only closes on Monday.
    """
    first = start or load_settings().start_date or ECB_FIRST_DATE
    return TimeWindowPartitionsDefinition(
        cron_schedule=TRADING_DAY_CRON,
        start=first.isoformat(),
        fmt="%Y-%m-%d",
        timezone="UTC",
        end_offset=1,
    )
