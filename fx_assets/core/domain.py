"""The constants every layer shares: what is predicted, from which columns, under what name.

They live here, not in whichever consumer used them first, so the service, the dashboard,
training and the table contracts agree by construction.
"""

from __future__ import annotations

from datetime import date

# The first fixing of the ECB's euro reference rates (and of the bundled history).
ECB_FIRST_DATE = date(1999, 1, 4)

# P(up) at or above this is called "up" (1); below it "flat or down" (0).
THRESHOLD = 0.5

# The registered model and the MLflow experiment its runs are logged to.
MODEL_NAME = "eur_usd_direction"
EXPERIMENT_NAME = "eur_usd_direction"

RETURN_LAGS = (1, 2, 3, 4)
MA_WINDOWS = (5, 20, 60)
VOL_WINDOWS = (5, 20, 60)
RSI_WINDOW = 14

# The model's inputs, in the order every model, table and request uses.
FEATURES: list[str] = [
    "ret_1d",
    *[f"ret_lag_{k}" for k in RETURN_LAGS],
    "ret_5d",
    "ret_20d",
    *[f"ma_ratio_{w}" for w in MA_WINDOWS],
    *[f"vol_{w}" for w in VOL_WINDOWS],
    f"rsi_{RSI_WINDOW}",
    "macd",
    "macd_signal",
    "macd_hist",
    "day_of_week",
]
# Features read from the whole book (``fx_assets.core.features_cross``): the dollar's
# mean move over the book's USD legs, and the pair's momentum rank among the book's pairs.
# Not yet among FEATURES: switching them on changes every model's inputs at once.
USD_MOVE_WINDOWS = (1, 5, 20)
MOM_RANK_WINDOWS = (20, 60)
CROSS_FEATURES: list[str] = [
    *[f"usd_move_{k}d" for k in USD_MOVE_WINDOWS],
    *[f"mom_rank_{k}" for k in MOM_RANK_WINDOWS],
]
# 1 when the next trading day's close is above this day's, else 0.
TARGET = "target"

# The baselines every backtest compares the model with, on the same days.
BASELINES = ("always_up", "persistence", "momentum")
