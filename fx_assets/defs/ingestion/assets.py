"""Ingestion: daily EUR/USD bars from the market-data source into ``eur_usd_raw``, and the
bars the row rules quarantined into ``eur_usd_raw_rejected``."""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetMaterialization,
    AssetSpec,
    BackfillPolicy,
    Backoff,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
)

from fx_assets.core.contracts import RAW, RAW_REJECTED
from fx_assets.core.ingestion.expectations import BadBatchError, evaluate
from fx_assets.core.ingestion.sources import SourceError
from fx_assets.core.markdown import markdown_table
from fx_assets.core.reports import RawReport
from fx_assets.defs.contracts import asset_metadata, fail, table_metadata, validated
from fx_assets.defs.ingestion.partitions import TRADING_YEARS
from fx_assets.defs.resources import MarketDataResource, WarehouseResource

# Bars before the window the spike rule looks at: its local volatility is the median of
# the 61 moves around a bar, so the first bar of a window is judged like any other.
CONTEXT_BARS = 40


# Written by eur_usd_raw in the same transaction as its window, and reported once per run:
# as a second partitioned output it would double Dagster's per-partition events, which are
# most of a full-history load's time on the embedded SQLite instance (5 s more of ~6 s).
eur_usd_raw_rejected = AssetSpec(
    RAW_REJECTED.name,
    description="Bars the row rules quarantined, with the rule and the reason.",
    deps=[RAW.name],
    group_name="ingestion",
    kinds={"pandas", "sql"},
    metadata=asset_metadata(RAW_REJECTED),
)


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
    """Daily EUR/USD bars that pass the row rules, one partition per year of trading days."""
    window = context.partition_time_window
    start = window.start.date()
    if market_data.start_date:
        # The first partition's year may begin before FX_START_DATE: nothing earlier lands.
        start = max(start, date.fromisoformat(market_data.start_date))
    # The current year's window runs to 31 December: never ask the source about the future.
    end = min((window.end - timedelta(days=1)).date(), datetime.now(UTC).date())
    if start > end:
        empty = RawReport(window_start=str(start), window_end=str(end), source=market_data.source)
        return MaterializeResult(
            metadata={"dagster/row_count": 0, "window": "before start", **empty.to_metadata()}
        )
    source = market_data.client()
    try:
        bars = source.fetch(start, end)
    except SourceError as exc:
        raise fail(str(exc)) from None
    wh = warehouse.get()
    before = wh.read(
        RAW, end=start - timedelta(days=1), newest=CONTEXT_BARS, columns=["date", "close"]
    )
    try:
        report = evaluate(
            bars,
            strict=market_data.on_bad_rows == "fail",
            max_rejected_share=market_data.max_rejected_share,
            previous=before,
        )
    except BadBatchError as exc:
        raise fail(f"{RAW.name} {start}..{end}: {exc}") from None
    # The contract still guards the accepted rows (and the first move against the stored
    # bar before the window): the rules and the contract can never disagree silently.
    checked = validated(RAW, pd.concat([before.tail(1), report.accepted], ignore_index=True))
    accepted = checked.iloc[min(len(before), 1) :].reset_index(drop=True)
    now = datetime.now(UTC)
    accepted = accepted.assign(source=source.name, ingested_at=now)
    rejected = report.rejected.assign(source=source.name, rejected_at=now)
    # Rows and rejects replace their window together: rematerializing a year leaves the
    # same rows in both tables, and nothing the source sent is lost.
    written = wh.replace_ranges({RAW: accepted, RAW_REJECTED: rejected}, start, end)
    context.log.info(f"{RAW.name}: {written[RAW.name]} bar(s) for {start}..{end}")
    if len(report.rejected) or report.warnings:
        context.log.warning(f"{RAW.name} {start}..{end}: {report.describe()}")

    origin = getattr(source, "metadata", None)
    # Rows per rule and their dates: what a reader of the run (and `fx run`) asks first.
    raw = RawReport.of(
        report,
        start=str(start),
        end=str(end),
        source=source.name,
        **(origin() if callable(origin) else {}),
    )
    quality = raw.to_metadata()
    rejected_meta = {**raw.window_metadata(), "dagster/row_count": len(rejected)}
    if len(rejected):
        newest = rejected.sort_values("date", ascending=False)
        rejected_meta["preview"] = MetadataValue.md(
            markdown_table(newest[["date", "rule", "close", "reason"]].head(10))
        )
    context.log_event(AssetMaterialization(asset_key=RAW_REJECTED.name, metadata=rejected_meta))
    if len(context.partition_keys) > 1:
        # A range run copies this metadata onto every partition's event: keep it small and
        # do not claim the batch's row count for each year.
        return MaterializeResult(metadata={**quality, "batch_row_count": written[RAW.name]})
    return MaterializeResult(
        metadata=table_metadata(accepted[["date", "open", "high", "low", "close"]], **quality)
    )
