"""Features: causal daily features of each pair from the accepted bars, and the modelling
table; a pair's features may read the whole book (cross-currency features)."""

import pandas as pd
from dagster import AllPartitionMapping, AssetDep, AssetExecutionContext, MaterializeResult, asset

from fx_assets.core.contracts import FINAL, RAW, STAGING
from fx_assets.core.domain import CROSS_FEATURES, FEATURES, TARGET
from fx_assets.core.features import build_features, build_final
from fx_assets.defs.contracts import asset_metadata, fail, table_metadata, validated
from fx_assets.defs.ingestion.partitions import PAIRS
from fx_assets.defs.resources import WarehouseResource


@asset(
    partitions_def=PAIRS,
    # A pair's row of features reads the bars of every pair and year of the book.
    deps=[AssetDep(RAW.name, partition_mapping=AllPartitionMapping())],
    group_name="features",
    kinds={"pandas", "sql"},
    metadata=asset_metadata(STAGING),
)
def fx_staging(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """Causal daily features (returns, moving averages, volatility, RSI, MACD) per trading
    day, and the book's: the dollar's move and the pair's momentum rank among the pairs."""
    pair = context.partition_key
    book = warehouse.get().read(RAW, columns=["pair", "date", "close"])
    raw = book.loc[book["pair"] == pair, ["date", "close"]]
    if raw.empty:
        raise fail(f"{RAW.name} holds no bar of {pair}: materialize its fx_raw partitions first")
    wh = warehouse.get().for_pair(pair)
    staging = build_features(raw, pair=pair, book=book)
    if staging[CROSS_FEATURES[0]].isna().all():
        raise fail(
            f"{pair}: the book ({', '.join(book['pair'].unique())}) has no pair against the"
            " dollar, so no dollar move: add a USD pair to FX_PAIRS"
        )
    staging = validated(STAGING, staging)
    wh.replace_all(STAGING, staging)
    return MaterializeResult(
        metadata=table_metadata(staging[["date", "close", *FEATURES[:4]]], pair=pair)
    )


@asset(
    partitions_def=PAIRS,
    deps=[fx_staging],
    group_name="features",
    kinds={"pandas", "sql"},
    metadata=asset_metadata(FINAL),
)
def fx_final(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """Complete feature rows with the next-day direction target; the newest row is to forecast."""
    pair = context.partition_key
    wh = warehouse.get().for_pair(pair)
    staging = wh.read(STAGING)
    final = validated(FINAL, build_final(staging))
    wh.replace_all(FINAL, final)
    known = final[TARGET].notna()
    return MaterializeResult(
        metadata=table_metadata(
            final[["date", *FEATURES[:4], TARGET]],
            pair=pair,
            up_share=float(final.loc[known, TARGET].mean()) if known.any() else 0.0,
            forecast_date=str(pd.Timestamp(final["date"].iloc[-1]).date()) if len(final) else "",
        )
    )
