"""Builders for a simulated book of pairs (not a test module).

``shared_signal_book`` makes closes whose next-day direction follows one rule in every
pair, at each pair's own volatility: the known answer against which a pooled model
(which sees every pair's rows) and per-pair models (which see one pair's) are compared.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fx_assets.core.features import build_features, build_final

# Daily volatilities from a calm cross to a wild one: the rule holds in units of each.
VOLATILITIES = (0.003, 0.005, 0.006, 0.008, 0.010, 0.012, 0.015)
CODES = ("EURUSD", "GBPUSD", "USDJPY", "USDCHF", "AUDUSD", "USDCAD", "NZDUSD")


def shared_signal_book(n: int, *, seed: int, strength: float = 1.0) -> pd.DataFrame:
    """Closes (``pair``, ``date``, ``close``) of seven pairs over ``n`` weekdays: a day
    follows a move of z of the pair's volatilities up with probability
    1 / (1 + exp(strength * z)) (reversal), its size |N(0, 1)| volatilities."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2015-01-05", periods=n)
    frames = []
    for code, vol in zip(CODES, VOLATILITIES, strict=True):
        z = np.empty(n)
        z[0] = rng.normal()
        for t in range(1, n):
            p_up = 1.0 / (1.0 + np.exp(strength * z[t - 1]))
            z[t] = (1.0 if rng.random() < p_up else -1.0) * abs(rng.normal())
        close = 1.2 * np.exp(np.cumsum(vol * z))
        frames.append(pd.DataFrame({"pair": code, "date": dates, "close": close}))
    return pd.concat(frames, ignore_index=True)


def book_final(closes: pd.DataFrame) -> pd.DataFrame:
    """Each pair's modelling rows with a known target (``pair``, ``date``, FEATURES,
    ``target``), pairs in order."""
    frames = []
    for pair, bars in closes.groupby("pair", sort=False):
        final = build_final(build_features(bars))
        frames.append(final[final["target"].notna()].assign(pair=pair))
    rows = pd.concat(frames, ignore_index=True)
    return rows.astype({"target": int})
