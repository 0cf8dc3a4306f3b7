"""Checks of the feature tables: each stored table honours its contract (blocking)."""

from fx_assets.core.contracts import FINAL, STAGING
from fx_assets.defs.contracts import contract_check

fx_staging_schema = contract_check(
    STAGING, "Stored features: unique sorted dates, positive closes, numeric features."
)
fx_final_schema = contract_check(
    FINAL, "Modelling rows: no null feature, target in {0, 1}, null only on the newest row."
)
