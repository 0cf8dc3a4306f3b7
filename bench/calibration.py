"""Drift's false alarms and power on the real ECB EUR/USD history (run by monitoring.py).

False alarms: every month-end since 2005 as the newest 60-row window, against all rows
before it, exactly as monitoring compares the newest window with the training rows.
Power: the newest 1 to 4 months of closes replaced by a planted regime, the features
rebuilt, and the newest window compared with every row before it.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from fx_assets.core.domain import FEATURES
from fx_assets.core.features import build_features, build_final
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.monitoring import drift

WINDOW = drift.DEFAULT_WINDOW
MONTH = 21  # trading days
STATED_RATE = drift.DEFAULT_RATE  # what drift states
SINCE = "2005-01-01"
# The features each planted regime is expected to move out of the reference's way.
TOUCHED = {
    "volatility": ("vol_5", "vol_20", "vol_60"),
    "level shift": ("ret_1d", "ret_5d", "ret_20d", "ma_ratio_5", "ma_ratio_20"),
    "frozen feed": ("ret_1d", "vol_5", "vol_20", "vol_60", "ma_ratio_5"),
}


def newest_window(final: pd.DataFrame, end: int) -> pd.DataFrame:
    """Drift rows of the ``WINDOW`` rows ending at position ``end`` against all before."""
    start = end - WINDOW + 1
    return drift.compare(final.iloc[:start], final.iloc[start : end + 1], FEATURES, "bench")


def false_alarms(final: pd.DataFrame) -> tuple[float, list[str]]:
    dates = pd.to_datetime(final["date"])
    ends = final.groupby(dates.dt.to_period("M")).tail(1).index
    ends = [int(e) for e in ends if dates[e] >= pd.Timestamp(SINCE)]
    flagged = []
    for end in ends:
        rows = newest_window(final, end)
        named = rows[rows["drifted"]]["feature"].tolist()
        if named:
            flagged.append(f"{dates[end]:%Y-%m}: {', '.join(named)}")
    return len(flagged) / len(ends), [f"{len(ends)} months", *flagged]


def planted(raw: pd.DataFrame, regime: str, months: int, size: float) -> pd.DataFrame:
    """``raw`` with its newest ``months`` of closes replaced by the regime."""
    close = raw["close"].astype(float).to_numpy().copy()
    k = months * MONTH
    start = len(close) - k
    if regime == "volatility":
        returns = np.diff(np.log(close[start - 1 :])) * size
        close[start:] = close[start - 1] * np.exp(np.cumsum(returns))
    elif regime == "level shift":
        close[start:] *= 1 + size
    else:  # frozen feed: the provider repeats one price
        close[start:] = close[start - 1]
    return raw.assign(close=close)


def power(raw: pd.DataFrame) -> list[str]:
    lines = []
    for regime, sizes in (
        ("volatility", (3.0, 5.0)),
        ("level shift", (0.05, 0.10)),
        ("frozen feed", (0,)),
    ):
        for size in sizes:
            for months in (1, 2, 3, 4):
                final = build_final(build_features(planted(raw, regime, months, size)))
                rows = newest_window(final, len(final) - 1)
                named = set(rows[rows["drifted"]]["feature"])
                touched = TOUCHED[regime]
                hit = [f for f in touched if f in named]
                label = f"{regime} x{size:g}" if regime == "volatility" else regime
                if regime == "level shift":
                    label = f"level shift {size:+.0%}"
                lines.append(
                    f"  {label:<18} newest {months} month(s): {len(hit)}/{len(touched)} touched"
                    f" features flagged ({', '.join(hit) or 'none'}); {len(named)} flagged in all"
                )
    return lines


def report_calibration() -> None:
    raw = EcbSource.history()
    final = build_final(build_features(raw))
    t0 = time.perf_counter()
    rate, flagged = false_alarms(final)
    seconds = time.perf_counter() - t0
    print(
        f"false alarms: {rate:.1%} of {flagged[0]} since {SINCE[:4]} flag any feature"
        f" (stated rate <= {STATED_RATE:.0%}; {seconds:.0f} s)"
    )
    for line in flagged[1:]:
        print(f"  {line}")
    newest = newest_window(final, len(final) - 1)
    print(
        f"newest window of the unchanged history ({newest['window_end'].iloc[0]}):"
        f" {int(newest['drifted'].sum())} feature(s) flagged"
        f" {newest[newest['drifted']]['feature'].tolist()}"
    )
    print("power on planted regimes (newest window against every row before it):")
    for line in power(raw):
        print(line)
