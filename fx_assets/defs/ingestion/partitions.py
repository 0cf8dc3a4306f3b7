"""The partitions of the book: one per pair, and for ``fx_raw`` one per pair and year.

Pairs are a dynamic partition ("pair"), registered from FX_PAIRS by the bootstrap sensor
and by ``fx run`` (or added in the UI): adding a pair to a running deployment is a
setting and a sensor tick, no code change and no code-server restart. A static set read
from FX_PAIRS would have been simpler, but it would be read at import, so the code
location's shape would change with the environment of whichever process loads it.

Every asset downstream of ``fx_raw`` is partitioned by pair: one run per pair, so one
pair's failure stops only that pair and names it, and pairs run side by side (up to
FX_MAX_PARALLEL in ``fx run``, on the deployment's workers under pools).

``fx_raw`` is one partition per calendar year of trading days for each pair.

Why years and not one partition per trading day: Dagster records a planned event and a
materialization event for every partition a run touches, even in a single-run backfill,
and on the embedded SQLite instance each costs tens of milliseconds. With ~7,300 trading
days since 1999 that alone made the first backfill take about five minutes, for one row
per partition. A year holds ~260 bars, so the whole history is ~28 partitions and loads
in seconds. The daily run rematerializes the current year: one source request and one
transaction that replaces ~260 rows, which is also how a late correction by the source
is picked up.

The partitions start with the ECB's first fixing whatever FX_START_DATE says: read at
import, a setting would change the code location's shape with the environment. The
start date trims the window inside the asset instead (years before it hold no rows).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from dagster import (
    DagsterInstance,
    DynamicPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    TimeWindowPartitionsDefinition,
)

from fx_assets.core.domain import ECB_FIRST_DATE

# Partition keys are years ("2026"); a window runs from 1 January to the next 1 January.
YEARLY_CRON = "0 0 1 1 *"
KEY_FORMAT = "%Y"


def trading_year_partitions(start: date = ECB_FIRST_DATE) -> TimeWindowPartitionsDefinition:
    """Yearly partitions from the year of ``start``.

    ``end_offset=1`` exposes the current, still open year, which is where the newest
    trading day lives.
    """
    return TimeWindowPartitionsDefinition(
        cron_schedule=YEARLY_CRON,
        start=str(start.year),
        fmt=KEY_FORMAT,
        timezone="UTC",
        end_offset=1,
    )


TRADING_YEARS = trading_year_partitions()


def partition_key_for(day: date) -> str:
    """The key of the partition that holds ``day``."""
    return day.strftime(KEY_FORMAT)


def history_range(first: date, now: datetime) -> tuple[str, str] | None:
    """The first and last partition key of the history from ``first`` to ``now``'s year;
    None when no partition is that recent (``first`` in the future)."""
    keys = TRADING_YEARS.get_partition_keys(current_time=now)
    keys = [k for k in keys if k >= partition_key_for(first)]
    return (keys[0], keys[-1]) if keys else None


# The book: one partition per pair code (EURUSD), in FX_PAIRS order as registered.
PAIRS = DynamicPartitionsDefinition(name="pair")
PAIR_DIMENSION, YEAR_DIMENSION = "pair", "year"
# fx_raw: pair x year. Keys read "EURUSD|2026"; a range is a rectangle of pairs and years.
PAIR_YEARS = MultiPartitionsDefinition({PAIR_DIMENSION: PAIRS, YEAR_DIMENSION: TRADING_YEARS})


def raw_key(pair: str, year: str) -> MultiPartitionKey:
    """The ``fx_raw`` partition of ``pair`` in ``year``."""
    return MultiPartitionKey({PAIR_DIMENSION: pair, YEAR_DIMENSION: year})


def years_by_pair(keys: list[str]) -> dict[str, list[str]]:
    """A run's ``fx_raw`` partition keys grouped by pair, years in order."""
    out: dict[str, list[str]] = {}
    for key in keys:
        dims = key.keys_by_dimension if isinstance(key, MultiPartitionKey) else None
        pair, year = (dims[PAIR_DIMENSION], dims[YEAR_DIMENSION]) if dims else key.split("|")
        out.setdefault(pair, []).append(year)
    return {pair: sorted(years) for pair, years in out.items()}


def register_pairs(instance: DagsterInstance, pairs: Iterable[str]) -> list[str]:
    """Add ``pairs`` to the instance's "pair" partitions, in order; the ones that were new.
    The bootstrap sensor, ``fx run`` and ``fx up`` call it with FX_PAIRS."""
    known = set(instance.get_dynamic_partitions(PAIRS.name))
    new = list(dict.fromkeys(p for p in pairs if p not in known))
    if new:
        instance.add_dynamic_partitions(PAIRS.name, new)
    return new
