"""Features: causal daily features from the accepted bars, and the modelling table."""

import pandas as pd
from dagster import MaterializeResult, asset

from fx_assets.core.contracts import FINAL, RAW, STAGING
from fx_assets.core.domain import FEATURES, TARGET
from fx_assets.core.features import build_features, build_final
from fx_assets.defs.contracts import asset_metadata, table_metadata, validated
from fx_assets.defs.resources import WarehouseResource


@asset(
    deps=[RAW.name],
    group_name="features",
    kinds={"pandas", "sql"},
    metadata=asset_metadata(STAGING),
)
def eur_usd_staging(warehouse: WarehouseResource) -> MaterializeResult:
    """Causal daily features (returns, moving averages, volatility, RSI, MACD) per trading day."""
    wh = warehouse.get()
    raw = wh.read(RAW, columns=["date", "close"])
    staging = validated(STAGING, build_features(raw))
    wh.replace_all(STAGING, staging)
    return MaterializeResult(metadata=table_metadata(staging[["date", "close", *FEATURES[:4]]]))


@asset(
    deps=[eur_usd_staging],
    group_name="features",
    kinds={"pandas", "sql"},
    metadata=asset_metadata(FINAL),
)
def eur_usd_final(warehouse: WarehouseResource) -> MaterializeResult:
    """Complete feature rows with the next-day direction target; the newest row is to forecast."""
    wh = warehouse.get()
    staging = wh.read(STAGING)
    final = validated(FINAL, build_final(staging))
    wh.replace_all(FINAL, final)
    known = final[TARGET].notna()
    return MaterializeResult(
        metadata=table_metadata(
            final[["date", *FEATURES[:4], TARGET]],
            up_share=float(final.loc[known, TARGET].mean()) if known.any() else 0.0,
            forecast_date=str(pd.Timestamp(final["date"].iloc[-1]).date()) if len(final) else "",
        )
    )
