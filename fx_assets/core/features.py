"""Causal features and the next-day target.

Every feature at date t is computed from closes at or before t only: rolling windows
look back, and exponential averages run forward with ``adjust=False``. Appending
future rows therefore never changes an earlier value (tested as a property).
The feature set uses closes only, so one list serves close-only sources (ECB) and
OHLC sources alike. A pair's features are its own (PAIR_FEATURES) and what the rest of the
book did (CROSS_FEATURES, ``fx_assets.core.features_cross``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fx_assets.core.domain import (
    FEATURES,
    MA_WINDOWS,
    RETURN_LAGS,
    RSI_WINDOW,
    TARGET,
    VOL_WINDOWS,
)
from fx_assets.core.features_cross import book_bars, cross_features
from fx_assets.core.pairs import DEFAULT_PAIR, Pair

MACD_FAST, MACD_SLOW, MACD_SIGNAL = 12, 26, 9


def _rsi(close: pd.Series, window: int) -> pd.Series:
    delta = close.diff()
    gain = delta.clip(lower=0).ewm(alpha=1 / window, adjust=False, min_periods=window).mean()
    loss = (-delta.clip(upper=0)).ewm(alpha=1 / window, adjust=False, min_periods=window).mean()
    rs = gain / loss
    rsi = 100 - 100 / (1 + rs)
    # No losses in the window: RSI is 100 by definition (rs is infinite).
    return rsi.where(loss != 0, 100.0).where(gain.notna())


def build_features(
    raw: pd.DataFrame, *, pair: str = DEFAULT_PAIR, book: pd.DataFrame | None = None
) -> pd.DataFrame:
    """``pair``'s daily bars (``date``, ``close``, ...) to ``date``, ``close`` and FEATURES:
    its own, and the cross-currency features of ``book`` (the book's closes: ``pair``,
    ``date``, ``close``; None: a book of this pair alone).

    Rows keep their dates; warm-up rows carry nulls where a window is not yet full.
    """
    own = pair_features(raw)
    closes = book if book is not None else own[["date", "close"]].assign(pair=pair)
    cross = cross_features(closes)
    cross = cross.loc[cross["pair"] == Pair.parse(pair).code].drop(columns="pair")
    return own.merge(cross, on="date", how="left", validate="1:1")


def pair_features(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw daily bars (``date``, ``close``, ...) to ``date``, ``close`` and PAIR_FEATURES."""
    bars = raw[["date", "close"]].sort_values("date").reset_index(drop=True)
    close = bars["close"].astype(float)
    log_close = np.log(close)
    ret = log_close.diff()

    out = pd.DataFrame({"date": pd.to_datetime(bars["date"]), "close": close})
    out["ret_1d"] = ret
    for k in RETURN_LAGS:
        out[f"ret_lag_{k}"] = ret.shift(k)
    out["ret_5d"] = log_close.diff(5)
    out["ret_20d"] = log_close.diff(20)
    for w in MA_WINDOWS:
        out[f"ma_ratio_{w}"] = close / close.rolling(w, min_periods=w).mean() - 1
    for w in VOL_WINDOWS:
        out[f"vol_{w}"] = ret.rolling(w, min_periods=w).std()
    out[f"rsi_{RSI_WINDOW}"] = _rsi(close, RSI_WINDOW)
    ema_fast = close.ewm(span=MACD_FAST, adjust=False, min_periods=MACD_FAST).mean()
    ema_slow = close.ewm(span=MACD_SLOW, adjust=False, min_periods=MACD_SLOW).mean()
    # Scaled by price so the feature means the same in 2001 and in 2024.
    macd = (ema_fast - ema_slow) / close
    signal = macd.ewm(span=MACD_SIGNAL, adjust=False, min_periods=MACD_SIGNAL).mean()
    out["macd"] = macd
    out["macd_signal"] = signal
    out["macd_hist"] = macd - signal
    out["day_of_week"] = out["date"].dt.dayofweek.astype(float)
    return out


def build_final(staging: pd.DataFrame) -> pd.DataFrame:
    """Rows with every feature present, plus ``target``.

    ``target`` is 1 when the next row's close (the next trading day, never a weekend
    date) is higher, else 0; the newest row has a null target: it is the row to forecast.
    """
    rows = staging.sort_values("date").reset_index(drop=True)
    next_close = rows["close"].shift(-1)
    target = (next_close > rows["close"]).astype("Int64")
    target[next_close.isna()] = pd.NA
    rows = rows.assign(target=target)
    complete = rows[FEATURES].notna().all(axis=1)
    final = rows.loc[complete, ["date", *FEATURES, TARGET]].reset_index(drop=True)
    return final


def build_book_features(raw: pd.DataFrame) -> pd.DataFrame:
    """The book's staging rows: ``pair``, ``date``, ``close``, each pair's own features
    (``features.build_features``) and CROSS_FEATURES, pairs in order of first appearance,
    each pair's rows oldest first."""
    bars = book_bars(raw)
    order = list(dict.fromkeys(Pair.parse(str(p)).code for p in raw["pair"]))
    own = [pair_features(bars[bars["pair"] == pair]).assign(pair=pair) for pair in order]
    if not own:
        raise ValueError("the book's closes have no rows; ingest at least one pair")
    rows = pd.concat(own, ignore_index=True)
    rows = rows.merge(cross_features(bars), on=["pair", "date"], how="left", validate="1:1")
    return rows[["pair", *[c for c in rows.columns if c != "pair"]]]
