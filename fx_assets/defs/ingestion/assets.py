"""ETL assets: raw bars, causal features, and the modelling table, with blocking checks."""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    BackfillPolicy,
    Backoff,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
    asset_check,
)

from fx_assets.core.features import FEATURES, TARGET, build_features, build_final
from fx_assets.core.ingestion.sources import SourceError
from fx_assets.core.markdown import markdown_table
from fx_assets.core.schemas import (
    FINAL_SCHEMA,
    RAW_SCHEMA,
    STAGING_SCHEMA,
    DataValidationError,
    validate,
)
from fx_assets.defs.ingestion.partitions import trading_year_partitions
from fx_assets.defs.resources import MarketDataResource, WarehouseResource

TRADING_YEARS = trading_year_partitions()


def table_metadata(df: pd.DataFrame, key: str = "date", **extra: object) -> dict[str, object]:
    """Row count, date range and a preview of the newest rows: what a reader checks first."""
    meta: dict[str, object] = {"dagster/row_count": len(df)}
    if len(df):
        meta["first_date"] = str(pd.Timestamp(df[key].min()).date())
        meta["last_date"] = str(pd.Timestamp(df[key].max()).date())
        meta["preview"] = MetadataValue.md(markdown_table(df))
    meta.update(extra)
    return meta


def _validated(schema, df: pd.DataFrame) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    try:
        return validate(schema, df.reset_index(drop=True))
    except DataValidationError as exc:
        # Deterministic: retrying cannot fix a bad batch.
        raise Failure(description=str(exc), allow_retries=False) from None


@asset(
    partitions_def=TRADING_YEARS,
    backfill_policy=BackfillPolicy.single_run(),
    retry_policy=RetryPolicy(
        max_retries=3, delay=2, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
    ),
    group_name="ingestion",
    kinds={"pandas", "sql"},
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
    source = market_data.client()
    try:
        bars = source.fetch(start, end)
    except SourceError as exc:
        raise Failure(description=str(exc), allow_retries=False) from None
    wh = warehouse.get()
    # Check the first day's move against the stored bar before the window.
    before = wh.read(
        "eur_usd_raw", end=start - timedelta(days=1), newest=1, columns=["date", "close"]
    )
    checked = _validated(RAW_SCHEMA, pd.concat([before, bars], ignore_index=True))
    bars = checked.iloc[len(before) :].reset_index(drop=True)
    bars["source"] = source.name
    bars["ingested_at"] = datetime.now(UTC)
    written = wh.replace_range("eur_usd_raw", bars, start, end)
    context.log.info(f"eur_usd_raw: {written} bar(s) for {start}..{end}")
    window_meta = {"window_start": str(start), "window_end": str(end), "source": source.name}
    if len(context.partition_keys) > 1:
        # A range run copies this metadata onto every partition's event: keep it small and
        # do not claim the batch's row count for each year.
        return MaterializeResult(metadata={**window_meta, "batch_row_count": written})
    return MaterializeResult(
        metadata=table_metadata(bars[["date", "open", "high", "low", "close"]], **window_meta)
    )


@asset(deps=[eur_usd_raw], group_name="features", kinds={"pandas", "sql"})
def eur_usd_staging(warehouse: WarehouseResource) -> MaterializeResult:
    """Causal daily features (returns, moving averages, volatility, RSI, MACD) per trading day."""
    wh = warehouse.get()
    raw = wh.read("eur_usd_raw", columns=["date", "close"])
    staging = _validated(STAGING_SCHEMA, build_features(raw))
    wh.replace_all("eur_usd_staging", staging)
    return MaterializeResult(metadata=table_metadata(staging[["date", "close", *FEATURES[:4]]]))


@asset(deps=[eur_usd_staging], group_name="features", kinds={"pandas", "sql"})
def eur_usd_final(warehouse: WarehouseResource) -> MaterializeResult:
    """Complete feature rows with the next-day direction target; the newest row is to forecast."""
    wh = warehouse.get()
    staging = wh.read("eur_usd_staging")
    final = _validated(FINAL_SCHEMA, build_final(staging))
    wh.replace_all("eur_usd_final", final)
    known = final[TARGET].notna()
    return MaterializeResult(
        metadata=table_metadata(
            final[["date", *FEATURES[:4], TARGET]],
            up_share=float(final.loc[known, TARGET].mean()) if known.any() else 0.0,
            forecast_date=str(pd.Timestamp(final["date"].iloc[-1]).date()) if len(final) else "",
        )
    )


def _check_table(warehouse: WarehouseResource, table: str, schema) -> AssetCheckResult:  # type: ignore[no-untyped-def]
    df = warehouse.get().read(table)
    try:
        validate(schema, df)
    except DataValidationError as exc:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=str(exc),
            metadata={"rows": len(df)},
        )
    return AssetCheckResult(passed=True, metadata={"rows": len(df)})


@asset_check(asset=eur_usd_raw, blocking=True)
def eur_usd_raw_schema(warehouse: WarehouseResource) -> AssetCheckResult:
    """Stored bars: unique weekday dates, positive prices, consistent OHLC, plausible moves."""
    return _check_table(warehouse, "eur_usd_raw", RAW_SCHEMA)


@asset_check(asset=eur_usd_staging, blocking=True)
def eur_usd_staging_schema(warehouse: WarehouseResource) -> AssetCheckResult:
    """Stored features: unique sorted dates, positive closes, numeric features."""
    return _check_table(warehouse, "eur_usd_staging", STAGING_SCHEMA)


@asset_check(asset=eur_usd_final, blocking=True)
def eur_usd_final_schema(warehouse: WarehouseResource) -> AssetCheckResult:
    """Modelling rows: no null feature, target in {0, 1}, null only on the newest row."""
    return _check_table(warehouse, "eur_usd_final", FINAL_SCHEMA)


ETL_ASSETS = [eur_usd_raw, eur_usd_staging, eur_usd_final]
ETL_CHECKS = [eur_usd_raw_schema, eur_usd_staging_schema, eur_usd_final_schema]
