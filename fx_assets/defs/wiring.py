"""Resources built from the environment: secrets go through EnvVar, never into the UI."""

from __future__ import annotations

import os
from typing import Any

from dagster import EnvVar

from fx_assets.core.ingestion.twelvedata import DEFAULT_BASE_URL
from fx_assets.core.settings import ConfigError, load_settings
from fx_assets.defs.resources import (
    MarketDataResource,
    MlflowResource,
    ModelServiceResource,
    TrainingResource,
    WarehouseResource,
)

# Environment variables that override TrainingResource fields (Dagster run config can too).
TRAINING_ENV = {
    "FX_TEST_DAYS": ("test_days", int),
    "FX_GAP_DAYS": ("gap_days", int),
    "FX_CV_FOLDS": ("cv_folds", int),
    "FX_TUNING_BUDGET": ("tuning_budget", int),
    "FX_PROMOTION_MARGIN": ("promotion_margin", float),
}


def training_settings() -> dict[str, int | float]:
    """The TrainingResource fields set in the environment, parsed."""
    out: dict[str, int | float] = {}
    for var, (field, kind) in TRAINING_ENV.items():
        raw = os.environ.get(var)
        if not raw:
            continue
        try:
            out[field] = kind(raw)
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not a {kind.__name__}") from None
    return out


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
    # The tracking URI of a server may carry credentials too.
    tracking_uri: Any = (
        EnvVar("MLFLOW_TRACKING_URI")
        if os.environ.get("MLFLOW_TRACKING_URI")
        else settings.mlflow_tracking_uri
    )
    return {
        "warehouse": WarehouseResource(url=warehouse_url),
        "market_data": MarketDataResource(**market),
        "training": TrainingResource(**training_settings()),
        "tracking_store": MlflowResource(tracking_uri=tracking_uri),
        "model_service": ModelServiceResource(
            url=settings.model_service_url,
            token=EnvVar("FX_API_TOKEN") if os.environ.get("FX_API_TOKEN") else None,
        ),
    }
