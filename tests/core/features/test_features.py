"""Features: definitions by hand, causality as a property, and the next-day target."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fx_assets.core.features import FEATURES, TARGET, build_features, build_final


def bars(closes: list[float], start: str = "2024-01-01") -> pd.DataFrame:
    dates = pd.bdate_range(start, periods=len(closes))
    return pd.DataFrame({"date": dates, "close": closes})


def random_walk(n: int, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(1.1 * np.exp(np.cumsum(rng.normal(0, 0.005, n))))


def test_returns_are_log_price_ratios_not_log_prices() -> None:
    closes = random_walk(80)
    f = build_features(bars(closes))
    assert f["ret_1d"].iloc[10] == pytest.approx(np.log(closes[10] / closes[9]))
    assert f["ret_lag_2"].iloc[10] == pytest.approx(np.log(closes[8] / closes[7]))
    assert f["ret_5d"].iloc[10] == pytest.approx(np.log(closes[10] / closes[5]))
    assert f["ma_ratio_5"].iloc[10] == pytest.approx(closes[10] / np.mean(closes[6:11]) - 1)
    rets = np.diff(np.log(closes))
    assert f["vol_5"].iloc[10] == pytest.approx(np.std(rets[5:10], ddof=1))
    assert f["day_of_week"].iloc[0] == 0  # 2024-01-01 is a Monday
    assert f["ret_1d"].abs().max() < 0.1  # a return, not a log price near log(1.1)


def test_rsi_is_100_when_prices_only_rise_and_bounded_otherwise() -> None:
    rising = build_features(bars([1.0 + 0.001 * i for i in range(40)]))
    assert rising["rsi_14"].iloc[-1] == pytest.approx(100.0)
    mixed = build_features(bars(random_walk(200, seed=3)))["rsi_14"].dropna()
    assert ((mixed >= 0) & (mixed <= 100)).all()


def test_warm_up_rows_are_null_and_final_drops_them() -> None:
    staging = build_features(bars(random_walk(100)))
    assert staging["vol_60"].iloc[:60].isna().all()
    final = build_final(staging)
    assert final[FEATURES].notna().all().all()
    assert list(final.columns) == ["date", *FEATURES, TARGET]
    assert final["date"].iloc[0] == staging["date"].iloc[60]


def test_target_is_next_trading_day_direction_and_newest_is_null() -> None:
    closes = random_walk(90, seed=7)
    closes[-2] = closes[-3]  # flat day: target 0
    staging = build_features(bars(closes, start="2024-01-01"))
    final = build_final(staging)
    by_date = dict(zip(staging["date"], staging["close"], strict=True))
    dates = list(staging["date"])
    for _, row in final.iloc[:-1].iterrows():
        nxt = dates[dates.index(row["date"]) + 1]
        assert row[TARGET] == int(by_date[nxt] > by_date[row["date"]])
    assert pd.isna(final[TARGET].iloc[-1])
    assert final[TARGET].iloc[-3] == 0  # the flat move counts as "not up"
    # A Friday's target looks at Monday's close, never a weekend date.
    friday = final[final["date"].dt.dayofweek == 4].iloc[0]
    monday = dates[dates.index(friday["date"]) + 1]
    assert monday.dayofweek == 0
    assert friday[TARGET] == int(by_date[monday] > by_date[friday["date"]])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=70, max_value=160),
    extra=st.integers(min_value=1, max_value=40),
    seed=st.integers(min_value=0, max_value=10_000),
    shock=st.floats(min_value=-0.05, max_value=0.05),
)
def test_appending_future_rows_never_changes_an_earlier_feature(
    n: int, extra: int, seed: int, shock: float
) -> None:
    closes = random_walk(n + extra, seed=seed)
    closes[n] *= float(np.exp(shock))  # whatever the future holds
    past = build_features(bars(closes[:n]))
    full = build_features(bars(closes))
    pd.testing.assert_frame_equal(past, full.iloc[:n].reset_index(drop=True))
    # Only the old newest row's target may change: it becomes known.
    old_final, new_final = build_final(past), build_final(full)
    common = len(old_final) - 1
    pd.testing.assert_frame_equal(
        old_final.iloc[:common], new_final.iloc[:common].reset_index(drop=True)
    )
