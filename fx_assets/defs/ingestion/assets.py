"""Ingestion: daily EUR/USD bars from the market-data source into ``eur_usd_raw``."""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    Backoff,
    Jitter,
    MaterializeResult,
    RetryPolicy,
    asset,
)

from fx_assets.core.contracts import RAW
from fx_assets.core.ingestion.sources import SourceError
from fx_assets.defs.contracts import asset_metadata, fail, table_metadata, validated
from fx_assets.defs.ingestion.partitions import TRADING_YEARS
from fx_assets.defs.resources import MarketDataResource, WarehouseResource


@asset(
    partitions_def=TRADING_YEARS,
    # One run (and one source request per page) for a whole backfill, not one per year.
    backfill_policy=BackfillPolicy.single_run(),
    # The source is a network service (except the bundled ECB file): retry transient errors.
    retry_policy=RetryPolicy(
        max_retries=3, delay=2, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
    ),
    group_name="ingestion",
    kinds={"pandas", "sql"},
    metadata=asset_metadata(RAW),
)
def eur_usd_raw(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    market_data: MarketDataResource,
) -> MaterializeResult:
    """Daily EUR/USD bars from the market-data source, one partition per year of trading days."""
    window = context.partition_time_window
    start = window.start.date()
    if market_data.start_date:
        # The first partition's year may begin before FX_START_DATE: nothing earlier lands.
        start = max(start, date.fromisoformat(market_data.start_date))
    # The current year's window runs to 31 December: never ask the source about the future.
    end = min((window.end - timedelta(days=1)).date(), datetime.now(UTC).date())
    if start > end:
        return MaterializeResult(metadata={"dagster/row_count": 0, "window": "before start"})
    source = market_data.client()
    try:
        bars = source.fetch(start, end)
    except SourceError as exc:
        raise fail(str(exc)) from None
    wh = warehouse.get()
    # Check the first day's move against the stored bar before the window.
    before = wh.read(RAW, end=start - timedelta(days=1), newest=1, columns=["date", "close"])
    checked = validated(RAW, pd.concat([before, bars], ignore_index=True))
    bars = checked.iloc[len(before) :].reset_index(drop=True)
    bars["source"] = source.name
    bars["ingested_at"] = datetime.now(UTC)
    written = wh.replace_range(RAW, bars, start, end)
    context.log.info(f"eur_usd_raw: {written} bar(s) for {start}..{end}")
    window_meta = {"window_start": str(start), "window_end": str(end), "source": source.name}
    if len(context.partition_keys) > 1:
        # A range run copies this metadata onto every partition's event: keep it small and
        # do not claim the batch's row count for each year.
        return MaterializeResult(metadata={**window_meta, "batch_row_count": written})
    return MaterializeResult(
        metadata=table_metadata(bars[["date", "open", "high", "low", "close"]], **window_meta)
    )
