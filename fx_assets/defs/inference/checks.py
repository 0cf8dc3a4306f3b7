"""Checks of the stored forecasts: every pair's rows honour the contract (blocking)."""

from fx_assets.core.contracts import PREDICTIONS
from fx_assets.defs.contracts import contract_check

fx_predictions_schema = contract_check(
    PREDICTIONS,
    "Stored forecasts: probability in [0, 1], direction matching it, model version present.",
)
