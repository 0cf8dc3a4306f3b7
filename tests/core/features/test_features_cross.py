"""Cross-currency features: hand-computed values on a tiny book, causality across pairs as a
property, and a book of one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fx_assets.core.domain import CROSS_FEATURES, FEATURES
from fx_assets.core.features import build_features
from fx_assets.core.features_cross import build_book_features, cross_features, usd_sign

DATES = pd.bdate_range("2024-01-01", periods=70)
MISSING = 65  # USD/JPY has no bar on this day


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    """Log closes on straight lines (EUR/USD +0.001 a day, USD/JPY +0.002, EUR/GBP -0.0005),
    EUR/GBP jumping +0.1 on day 40, USD/JPY missing day 65."""
    t = np.arange(len(DATES))
    jump = np.where(t >= 40, 0.1, 0.0)
    frames = [
        pd.DataFrame({"pair": "EURUSD", "date": DATES, "close": 1.1 * np.exp(0.001 * t)}),
        pd.DataFrame({"pair": "USDJPY", "date": DATES, "close": 150 * np.exp(0.002 * t)}),
        pd.DataFrame({"pair": "EURGBP", "date": DATES, "close": 0.85 * np.exp(-0.0005 * t + jump)}),
    ]
    closes = pd.concat(frames, ignore_index=True)
    return closes[~((closes["pair"] == "USDJPY") & (closes["date"] == DATES[MISSING]))]


def at(features: pd.DataFrame, pair: str, day: int) -> pd.Series:
    rows = features[(features["pair"] == pair) & (features["date"] == DATES[day])]
    assert len(rows) == 1
    return rows.iloc[0]


def test_usd_sign_follows_which_leg_is_the_dollar() -> None:
    assert usd_sign("USDJPY") == 1.0
    assert usd_sign("EURUSD") == -1.0
    assert np.isnan(usd_sign("EURGBP"))


def test_dollar_move_is_the_signed_mean_of_the_usd_legs_by_hand(book: pd.DataFrame) -> None:
    f = cross_features(book)
    # Dollar up 0.002 against the yen, down 0.001 against the euro; EUR/GBP takes no part.
    for pair in ("EURUSD", "USDJPY", "EURGBP"):
        assert at(f, pair, 10)["usd_move_1d"] == pytest.approx(0.0005)
    # EUR/GBP's jump on day 40 does not move the dollar.
    assert at(f, "EURGBP", 40)["usd_move_1d"] == pytest.approx(0.0005)
    # Day 65: USD/JPY has no bar, so only EUR/USD counts.
    assert at(f, "EURUSD", 65)["usd_move_1d"] == pytest.approx(-0.001)
    assert at(f, "EURGBP", 65)["usd_move_1d"] == pytest.approx(-0.001)
    # Day 66: USD/JPY's return is from its own previous bar, day 64 (two days of +0.002).
    assert at(f, "EURUSD", 66)["usd_move_1d"] == pytest.approx((-0.001 + 0.004) / 2)
    # Five bars of USD/JPY before day 66 reach back to day 60.
    assert at(f, "EURUSD", 66)["usd_move_5d"] == pytest.approx((-0.005 + 0.012) / 2)
    # Twenty earlier bars first exist on day 20.
    assert at(f, "EURUSD", 19)[["usd_move_20d"]].isna().all()
    assert at(f, "EURUSD", 20)["usd_move_20d"] == pytest.approx((-0.02 + 0.04) / 2)
    assert f.loc[f["date"] == DATES[0], "usd_move_1d"].isna().all()


def test_momentum_rank_orders_the_book_by_hand(book: pd.DataFrame) -> None:
    f = cross_features(book)
    # Day 30: EUR/GBP -0.01 < EUR/USD +0.02 < USD/JPY +0.04 over 20 bars.
    assert [at(f, p, 30)["mom_rank_20"] for p in ("EURGBP", "EURUSD", "USDJPY")] == [0, 0.5, 1]
    # Day 45: EUR/GBP's jump makes it the strongest over 20 bars (-0.01 + 0.1).
    assert [at(f, p, 45)["mom_rank_20"] for p in ("EURUSD", "USDJPY", "EURGBP")] == [0, 0.5, 1]
    # Day 60 over 60 bars: EUR/USD 0.06 < EUR/GBP 0.07 < USD/JPY 0.12.
    assert [at(f, p, 60)["mom_rank_60"] for p in ("EURUSD", "EURGBP", "USDJPY")] == [0, 0.5, 1]
    assert f.loc[f["date"] == DATES[59], "mom_rank_60"].isna().all()
    # Day 65: only the two pairs with a bar are ranked.
    assert (at(f, "EURGBP", 65)["mom_rank_20"], at(f, "EURUSD", 65)["mom_rank_20"]) == (0, 1)
    assert f[(f["pair"] == "USDJPY") & (f["date"] == DATES[MISSING])].empty


def test_a_book_of_one_ranks_at_one_half_and_moves_the_dollar_by_itself() -> None:
    closes = 1.1 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.005, 80)))
    eurusd = pd.DataFrame({"pair": "EURUSD", "date": pd.bdate_range("2024-01-01", periods=80)})
    eurusd["close"] = closes
    f = cross_features(eurusd)
    assert f["mom_rank_20"].iloc[:20].isna().all()
    assert (f["mom_rank_20"].iloc[20:] == 0.5).all()
    assert (f["mom_rank_60"].iloc[60:] == 0.5).all()
    # EUR/USD rising is the dollar falling.
    expected = -np.diff(np.log(closes))
    np.testing.assert_allclose(f["usd_move_1d"].iloc[1:], expected)
    # Without a USD leg there is no dollar to measure.
    eurgbp = cross_features(eurusd.assign(pair="EURGBP"))
    assert eurgbp[["usd_move_1d", "usd_move_5d", "usd_move_20d"]].isna().all().all()
    assert (eurgbp["mom_rank_20"].iloc[20:] == 0.5).all()


def test_book_frame_is_each_pairs_own_features_beside_the_cross_ones(
    book: pd.DataFrame,
) -> None:
    rows = build_book_features(book)
    assert list(rows.columns) == ["pair", "date", "close", *FEATURES, *CROSS_FEATURES]
    assert list(rows["pair"].unique()) == ["EURUSD", "USDJPY", "EURGBP"]
    alone = build_features(book[book["pair"] == "USDJPY"])
    pd.testing.assert_frame_equal(
        rows.loc[rows["pair"] == "USDJPY", ["date", "close", *FEATURES]].reset_index(drop=True),
        alone,
    )
    assert at(rows, "EURGBP", 30)["mom_rank_20"] == 0


def test_two_closes_of_one_pair_on_one_day_are_refused(book: pd.DataFrame) -> None:
    doubled = pd.concat([book, book.iloc[[3]]], ignore_index=True)
    with pytest.raises(ValueError, match="EURUSD has more than one close on 2024-01-04"):
        cross_features(doubled)


CODES = ("EURUSD", "USDJPY", "EURGBP", "GBPUSD")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(min_value=70, max_value=130),
    pairs=st.integers(min_value=1, max_value=len(CODES)),
    holes=st.floats(min_value=0.0, max_value=0.3),
    cut=st.floats(min_value=0.3, max_value=0.95),
    seed=st.integers(min_value=0, max_value=10_000),
    shock=st.floats(min_value=-0.1, max_value=0.1),
)
def test_appending_the_future_of_any_pair_changes_no_earlier_feature_of_any_pair(
    n: int, pairs: int, holes: float, cut: float, seed: int, shock: float
) -> None:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=n)
    frames = []
    for code in CODES[:pairs]:
        log_close = np.cumsum(rng.normal(0, 0.006, n))
        keep = rng.random(n) >= holes
        frames.append(pd.DataFrame({"pair": code, "date": dates, "close": np.exp(log_close)})[keep])
    closes = pd.concat(frames, ignore_index=True)
    cutoff = dates[int(cut * (n - 1))]
    # Whatever the future holds, for every pair: a shock on every row after the cutoff.
    future = closes["date"] > cutoff
    closes.loc[future, "close"] *= float(np.exp(shock))
    past = build_book_features(closes[~future])
    full = build_book_features(closes)
    full_past = full[full["date"] <= cutoff].reset_index(drop=True)
    # The book's pairs, each pair's rows oldest first: the same order in both.
    pd.testing.assert_frame_equal(past, full_past, check_exact=True)
