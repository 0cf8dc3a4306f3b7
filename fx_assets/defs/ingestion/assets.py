"""Ingestion: daily bars of every pair of the book from the market-data source into
``fx_raw``, and the bars the row rules quarantined into ``fx_raw_rejected``."""

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
    RetryPolicy,
    asset,
)

from fx_assets.core.contracts import RAW, RAW_REJECTED, DataValidationError
from fx_assets.core.ingestion.expectations import BadBatchError, evaluate
from fx_assets.core.ingestion.sources import Source, SourceError
from fx_assets.core.pairs import PairError
from fx_assets.core.reports import RawReport
from fx_assets.defs.contracts import asset_metadata, fail, table_metadata
from fx_assets.defs.ingestion.partitions import PAIR_YEARS, raw_key, years_by_pair
from fx_assets.defs.resources import MarketDataResource, WarehouseResource

# Bars before the window the spike rule looks at: its local volatility is the median of
# the 61 moves around a bar, so the first bar of a window is judged like any other.
CONTEXT_BARS = 40


# Written by fx_raw in the same transaction as its window, and reported once per run:
# as a second partitioned output it would double Dagster's per-partition events, which are
# most of a full-history load's time on the embedded SQLite instance (5 s more of ~6 s).
fx_raw_rejected = AssetSpec(
    RAW_REJECTED.name,
    description="Bars the row rules quarantined, with the rule and the reason.",
    deps=[RAW.name],
    group_name="ingestion",
    kinds={"pandas", "sql"},
    metadata=asset_metadata(RAW_REJECTED),
)


@asset(
    partitions_def=PAIR_YEARS,
    # One run (and one source request per pair and page) for a whole backfill of the book,
    # not one per pair and year.
    backfill_policy=BackfillPolicy.single_run(),
    # The source is a network service (except the bundled ECB file): retry transient errors.
    retry_policy=RetryPolicy(
        max_retries=3, delay=2, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
    ),
    group_name="ingestion",
    kinds={"pandas", "sql"},
    metadata=asset_metadata(RAW),
)
def fx_raw(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    market_data: MarketDataResource,
) -> MaterializeResult:
    """Daily bars of each pair that pass the row rules, one partition per pair and year."""
    by_pair = years_by_pair(context.partition_keys)
    source = market_data.client(book=list(by_pair))
    try:
        source.check_pairs(list(by_pair))
    except (SourceError, PairError) as exc:
        raise fail(str(exc)) from None
    reports: dict[str, RawReport] = {}
    failed: dict[str, str] = {}
    written = 0
    for pair, years in by_pair.items():
        try:
            reports[pair], rows = ingest_pair(context, warehouse, market_data, source, pair, years)
            written += rows
        except PairFailure as exc:
            failed[pair] = str(exc)
            context.log.error(f"{RAW.name} {pair}: {exc}")
    if failed:
        # The pairs that landed show as materialized (the step's failure records none);
        # one line per failed pair: a rerun of those completes the book.
        for pair in reports:
            for year in by_pair[pair]:
                context.log_event(
                    AssetMaterialization(
                        asset_key=RAW.name,
                        partition=raw_key(pair, year),
                        metadata={"pair": pair, **reports[pair].window_metadata()},
                    )
                )
        raise fail(
            "; ".join(f"{pair}: {why}" for pair, why in failed.items())
            + (f" (written: {', '.join(reports)})" if reports else "")
        )
    report = RawReport.book(reports)
    rejected_meta = {**report.window_metadata(), "dagster/row_count": report.quarantined}
    context.log_event(AssetMaterialization(asset_key=RAW_REJECTED.name, metadata=rejected_meta))
    if len(context.partition_keys) > 1:
        # A range run copies this metadata onto every partition's event: keep it small and
        # do not claim the batch's row count for each year.
        return MaterializeResult(
            metadata={**report.to_metadata(), "pairs": len(reports), "batch_row_count": written}
        )
    (pair,) = reports
    wh = warehouse.get().for_pair(pair)
    start, end = date.fromisoformat(report.window_start), date.fromisoformat(report.window_end)
    rows = wh.read(RAW, start=start, end=end, columns=["date", "open", "high", "low", "close"])
    return MaterializeResult(metadata=table_metadata(rows, pair=pair, **report.to_metadata()))


class PairFailure(Exception):
    """One pair's batch could not be written; the message says why in one line."""


def ingest_pair(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    market_data: MarketDataResource,
    source: Source,
    pair: str,
    years: list[str],
) -> tuple[RawReport, int]:
    """Fetch, judge and write one pair's years in one transaction; its report and rows."""
    start = date(int(years[0]), 1, 1)
    if market_data.start_date:
        # The first partition's year may begin before FX_START_DATE: nothing earlier lands.
        start = max(start, date.fromisoformat(market_data.start_date))
    # The current year's window runs to 31 December: never ask the source about the future.
    end = min(date(int(years[-1]), 12, 31), datetime.now(UTC).date())
    if start > end:
        return RawReport(window_start=str(start), window_end=str(end), source=source.name), 0
    try:
        bars = source.fetch(start, end, pair=pair)
    except SourceError as exc:
        raise PairFailure(str(exc)) from None
    wh = warehouse.get().for_pair(pair)
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
        raise PairFailure(f"{start}..{end}: {exc}") from None
    # The contract still guards the accepted rows (and the first move against the stored
    # bar before the window): the rules and the contract can never disagree silently.
    try:
        checked = RAW.validate(pd.concat([before.tail(1), report.accepted], ignore_index=True))
    except DataValidationError as exc:
        raise PairFailure(str(exc)) from None
    accepted = checked.iloc[min(len(before), 1) :].reset_index(drop=True)
    now = datetime.now(UTC)
    accepted = accepted.assign(source=source.name, ingested_at=now)
    rejected = report.rejected.assign(source=source.name, rejected_at=now)
    # Rows and rejects replace their window together: rematerializing a year leaves the
    # same rows in both tables, and nothing the source sent is lost.
    written = wh.replace_ranges({RAW: accepted, RAW_REJECTED: rejected}, start, end)
    context.log.info(f"{RAW.name} {pair}: {written[RAW.name]} bar(s) for {start}..{end}")
    if len(report.rejected) or report.warnings:
        context.log.warning(f"{RAW.name} {pair} {start}..{end}: {report.describe()}")
    origin = getattr(source, "metadata", None)
    raw = RawReport.of(
        report,
        start=str(start),
        end=str(end),
        source=source.name,
        **(origin() if callable(origin) else {}),
    )
    return raw, written[RAW.name]
