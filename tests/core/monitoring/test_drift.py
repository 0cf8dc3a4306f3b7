"""Feature drift maths: PSI and KS on known distributions, and the ECB history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fx_assets.core.features import FEATURES, build_features, build_final
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.monitoring import calibration, drift

WINDOW = 60


def _frame(values: np.ndarray, start: str = "2020-01-01") -> pd.DataFrame:
    return pd.DataFrame({"date": pd.date_range(start, periods=len(values), freq="D"), "x": values})


def test_equal_distributions_do_not_drift() -> None:
    # 40 seeds at the stated 10 %: about 4 flagged; 9 would be a defect.
    flagged = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        rows = drift.compare(
            _frame(rng.normal(size=2000)), _frame(rng.normal(size=WINDOW)), ["x"], "1"
        )
        flagged += bool(rows["drifted"].iloc[0])
    assert flagged <= 9


def test_a_shifted_distribution_drifts() -> None:
    rng = np.random.default_rng(1)
    rows = drift.compare(
        _frame(rng.normal(size=2000)), _frame(rng.normal(loc=0.8, size=WINDOW)), ["x"], "7"
    )
    row = rows.iloc[0]
    assert row["drifted"] and row["rule"] in ("ks", "range")
    assert row["ks_stat"] > row["ks_threshold"]
    # Beyond every one of the reference's 170 past windows: the smallest p it can give.
    assert row["ks_pvalue"] == pytest.approx(1 / 171)
    assert row["model_version"] == "7"
    assert row["reason"].startswith("drifted: x (")


def test_psi_of_a_known_shift() -> None:
    # Reference uniform on deciles; current puts 20 % in each of the top five deciles:
    # PSI = 5 * (0.2 - 0.1) ln 2 + 5 * (1e-4 - 0.1) ln(1e-3) = 0.3466 + 3.4504.
    reference = np.arange(1000) / 1000
    current = np.repeat([0.55, 0.65, 0.75, 0.85, 0.95], 20)
    expected = 5 * 0.1 * np.log(2) + 5 * (1e-4 - 0.1) * np.log(1e-3)
    assert drift.psi(reference, current) == pytest.approx(expected, rel=1e-9)


def _ks(reference: np.ndarray, window: np.ndarray) -> float:
    keys = calibration.Keys.of(np.concatenate([reference, window]).reshape(-1, 1)).keys
    n = len(reference)
    return float(calibration.window_stats(np.sort(keys[:n].ravel()), n, keys[n:]).ks[0])


def test_ks_distance_matches_scipy() -> None:
    from scipy import stats

    rng = np.random.default_rng(3)
    a, b = rng.normal(size=500), rng.normal(0.3, size=80)
    assert _ks(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)
    # Ties between the samples (a discrete feature) too.
    a, b = rng.integers(0, 5, 300).astype(float), rng.integers(0, 5, 60).astype(float)
    assert _ks(a, b) == pytest.approx(stats.ks_2samp(a, b).statistic, abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=300),
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=300),
)
def test_psi_is_non_negative_and_zero_on_identical_samples(
    reference: list[float], current: list[float]
) -> None:
    assert drift.psi(np.array(reference), np.array(current)) >= 0.0
    assert drift.psi(np.array(reference), np.array(reference)) == pytest.approx(0.0, abs=1e-12)


@pytest.fixture(scope="module")
def ecb_bars() -> pd.DataFrame:
    return EcbSource.history()


def _last_window_against_recent_past(final: pd.DataFrame) -> pd.DataFrame:
    window = final.tail(WINDOW)
    before = final[final["date"] < window["date"].min()]
    # "Its own recent past": the three years before the window.
    recent = before[before["date"] > before["date"].max() - pd.DateOffset(years=3)]
    return drift.compare(recent, window, FEATURES, "1")


def test_unchanged_ecb_history_stays_quiet(ecb_bars: pd.DataFrame) -> None:
    rows = _last_window_against_recent_past(build_final(build_features(ecb_bars)))
    assert len(rows) == len(FEATURES)
    # The rate the method states: at most one feature on an ordinary newest window.
    assert len(drift.drifted_features(rows)) <= 1


def test_planted_volatility_regime_fires(ecb_bars: pd.DataFrame) -> None:
    bars = ecb_bars.copy()
    returns = np.log(bars["close"]).diff().fillna(0.0).to_numpy()
    returns[-80:] *= 4  # the newest 80 days four times as volatile
    bars["close"] = bars["close"].iloc[0] * np.exp(np.cumsum(returns))
    rows = _last_window_against_recent_past(build_final(build_features(bars)))
    named = drift.drifted_features(rows)
    # The volatility features and the daily returns are what such a regime moves.
    assert {"vol_5", "vol_20", "ret_1d"} <= set(named)
    assert "day_of_week" not in named


def test_feature_drift_uses_the_champion_training_rows(ecb_bars: pd.DataFrame) -> None:
    final = build_final(build_features(ecb_bars))
    cutoff = final["date"].iloc[-500].date()
    rows = drift.feature_drift(final, FEATURES, cutoff, "3", window=WINDOW)
    assert set(rows["reference_end"]) == {cutoff}
    assert set(rows["window_end"]) == {final["date"].max().date()}
    assert set(rows["window_start"]) == {final["date"].iloc[-WINDOW].date()}
    assert list(rows["feature"]) == FEATURES
