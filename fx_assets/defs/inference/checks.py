"""Checks of the stored forecasts: the table honours its contract (blocking)."""

from fx_assets.core.contracts import PREDICTIONS
from fx_assets.defs.contracts import contract_check

eur_usd_predictions_schema = contract_check(
    PREDICTIONS,
    "Stored forecasts: probability in [0, 1], direction matching it, model version present.",
)
