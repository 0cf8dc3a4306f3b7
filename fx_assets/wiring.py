"""Resources built from the environment: secrets go through EnvVar, never into the UI."""

from __future__ import annotations

import os
from typing import Any

from dagster import EnvVar

from fx_assets.config import load_settings
from fx_assets.resources import MarketDataResource, WarehouseResource
from fx_assets.twelvedata import DEFAULT_BASE_URL


def build_resources() -> dict[str, Any]:
    settings = load_settings()
    # A warehouse URL may carry a password: hand Dagster the variable, not the value.
    warehouse_url: Any = (
        EnvVar("FX_WAREHOUSE_URL") if os.environ.get("FX_WAREHOUSE_URL") else settings.warehouse_url
    )
    market: dict[str, Any] = {
        "source": settings.source,
        "start_date": settings.start_date.isoformat() if settings.start_date else None,
        "twelvedata_base_url": os.environ.get("TWELVEDATA_BASE_URL") or DEFAULT_BASE_URL,
    }
    if settings.source == "twelvedata" and os.environ.get("TWELVEDATA_API_KEY"):
        # Unset, the client fails with a one-line message naming the variable.
        market["twelvedata_api_key"] = EnvVar("TWELVEDATA_API_KEY")
    return {
        "warehouse": WarehouseResource(url=warehouse_url),
        "market_data": MarketDataResource(**market),
    }
