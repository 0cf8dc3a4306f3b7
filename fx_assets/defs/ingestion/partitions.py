"""The partitions of ``eur_usd_raw``: one per calendar year of trading days.

Why years and not one partition per trading day: Dagster records a planned event and a
materialization event for every partition a run touches, even in a single-run backfill,
and on the embedded SQLite instance each costs tens of milliseconds. With ~7,300 trading
days since 1999 that alone made the first backfill take about five minutes, for one row
per partition. A year holds ~260 bars, so the whole history is ~28 partitions and loads
in seconds. The daily run rematerializes the current year: one source request and one
transaction that replaces ~260 rows, which is also how a late correction by the source
is picked up.
"""

from __future__ import annotations

from datetime import date

from dagster import TimeWindowPartitionsDefinition

from fx_assets.core.settings import ECB_FIRST_DATE, load_settings

# Partition keys are years ("2026"); a window runs from 1 January to the next 1 January.
YEARLY_CRON = "0 0 1 1 *"
KEY_FORMAT = "%Y"


def trading_year_partitions(start: date | None = None) -> TimeWindowPartitionsDefinition:
    """Yearly partitions from the year of ``start`` (FX_START_DATE, else the ECB's first fixing).

    ``end_offset=1`` exposes the current, still open year, which is where the newest
    trading day lives.
    """
    first = start or load_settings().start_date or ECB_FIRST_DATE
    return TimeWindowPartitionsDefinition(
        cron_schedule=YEARLY_CRON,
        start=str(first.year),
        fmt=KEY_FORMAT,
        timezone="UTC",
        end_offset=1,
    )


def partition_key_for(day: date) -> str:
    """The key of the partition that holds ``day``."""
    return day.strftime(KEY_FORMAT)
