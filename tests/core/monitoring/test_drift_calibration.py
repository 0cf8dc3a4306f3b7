"""Drift's calibration on simulated data with a known answer, over seeds, with a tolerance.

Null: AR(1) series with strong autocorrelation (the shape of a rolling volatility or a
moving-average ratio), the newest 60 rows against the rows before them. Alternatives:
planted volatility and frozen-feed regimes on a simulated random walk's real features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import lfilter

from fx_assets.core.domain import FEATURES
from fx_assets.core.features import build_features, build_final
from fx_assets.core.monitoring import calibration, drift

WINDOW = 60
# What drift states (the share of windows that flag any feature), and the tolerance of a
# 50-seed estimate (about two binomial standard errors at 10 %).
STATED_RATE = drift.DEFAULT_RATE
TOLERANCE = 0.085


def _ar1(seed: int, n: int, phi: float) -> np.ndarray:
    shocks = np.random.default_rng(seed).normal(size=n + 500)
    return lfilter([1.0], [1.0, -phi], shocks)[500:]  # burn-in: start from the stationary law


@pytest.mark.parametrize("phi", [0.9, 0.98])
def test_false_alarms_on_autocorrelated_nulls_stay_at_the_stated_rate(phi: float) -> None:
    # One feature, two rules, 2500 rows: about 220 past windows, enough for the rate.
    flagged = 0
    for seed in range(50):
        x = _ar1(seed, 2500 + WINDOW, phi)
        flagged += drift.judge(x[:2500], x[2500:])["rule"] != "none"
    assert flagged / 50 <= STATED_RATE + TOLERANCE


def _walk(seed: int, n: int = 1500) -> pd.DataFrame:
    returns = np.random.default_rng(seed).normal(0, 0.005, n)
    dates = pd.bdate_range("2015-01-05", periods=n)
    return pd.DataFrame({"date": dates, "close": 1.1 * np.exp(np.cumsum(returns))})


def _newest_window_flags(raw: pd.DataFrame) -> set[str]:
    final = build_final(build_features(raw))
    rows = drift.compare(final.iloc[:-WINDOW], final.iloc[-WINDOW:], FEATURES, "sim")
    return set(rows[rows["drifted"]]["feature"])


def _planted_volatility(raw: pd.DataFrame, rows: int, factor: float) -> pd.DataFrame:
    log_close = np.log(raw["close"].to_numpy())
    returns = np.diff(log_close)
    returns[-rows:] *= factor
    close = np.exp(np.concatenate([[log_close[0]], log_close[0] + np.cumsum(returns)]))
    return raw.assign(close=close)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_planted_regimes_are_flagged_on_the_features_they_touch(seed: int) -> None:
    raw = _walk(seed)
    # Volatility x4 over the newest 40 rows (two months): the volatility features move.
    assert {"vol_5", "vol_20"} <= _newest_window_flags(_planted_volatility(raw, 40, 4.0))
    # A frozen feed over the newest 40 rows: returns stop, volatility falls to zero.
    frozen = raw.assign(close=np.r_[raw["close"].to_numpy()[:-40], [raw["close"].iloc[-41]] * 40])
    assert {"ret_1d", "vol_5", "vol_20"} <= _newest_window_flags(frozen)


def test_the_family_rate_over_eighteen_features_is_the_stated_floor() -> None:
    # 1500 rows give 117 past windows: too few for 36 tests at 10 %, so each threshold is
    # its null's largest value and the rate is the floor drift states, 1-(1-1/118)^36.
    noisy = sum(len(_newest_window_flags(_walk(seed))) > 0 for seed in range(10, 30))
    floor = 1 - (1 - 1 / 118) ** 36
    assert noisy / 20 <= floor + 0.2  # 20 seeds: two standard errors


@settings(max_examples=60, deadline=None)
@given(
    reference=st.lists(
        st.one_of(st.floats(-1e3, 1e3, allow_nan=False), st.sampled_from([0.0, 1.0])),
        min_size=1,
        max_size=700,
    ),
    window=st.integers(2, 80),
    persistence=st.booleans(),
)
def test_no_threshold_is_the_largest_value_its_statistic_can_take(
    reference: list[float], window: int, persistence: bool
) -> None:
    ref = np.array(reference)
    if persistence:  # the most persistent series there is: sorted, each window new
        ref = np.sort(ref)
    keys = calibration.Keys.of(ref.reshape(-1, 1)).keys
    limits = calibration.thresholds(calibration.null(keys, window), window)
    assert limits.ks[0] < 1.0  # D = 1: the window entirely beyond one end of the reference
    assert limits.outside[0] <= calibration.MAX_OUTSIDE_THRESHOLD < 1.0
    # And so a window entirely beyond the reference is always flagged, by the range rule.
    beyond = np.full(window, ref.max() + 1.0 + abs(ref.max()))
    verdict = drift.judge(ref, beyond)
    assert verdict["drifted"] and verdict["rule"] == "range"
