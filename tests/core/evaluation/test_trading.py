"""The trading view on a toy case computed by hand, costs included."""

from __future__ import annotations

import numpy as np
import pytest

from fx_assets.core.evaluation import trading
from fx_assets.core.pairs import Pair


def test_long_short_with_costs_by_hand() -> None:
    # Four days at a close of 1.0000 (so a pip is exactly 0.0001 of return).
    close = np.array([1.0, 1.0, 1.0, 1.0])
    moves = np.array([0.01, -0.02, 0.005, 0.01])
    direction = np.array([1, 0, 0, 1])  # long, short, short, long: 3 changes with the entry
    pos = trading.positions(direction)
    assert pos.tolist() == [1, -1, -1, 1]
    # Costs of 2 pips on each change: entry, long->short, short->long.
    r = trading.daily_returns(pos, close, close * (1 + moves), cost_pips=2.0)
    expected = [0.01 - 0.0002, 0.02 - 0.0002, -0.005, 0.01 - 0.0002]
    np.testing.assert_allclose(r, expected, atol=1e-15)
    perf = trading.performance(pos, close, close * (1 + moves), cost_pips=2.0, periods_per_year=4)
    equity = 1.0098 * 1.0198 * 0.995 * 1.0098
    assert perf.cumulative_return == pytest.approx(equity - 1, abs=1e-15)
    assert perf.annualized_return == pytest.approx(equity - 1, abs=1e-15)  # one "year" of 4 days
    sd = np.std(expected, ddof=1)
    assert perf.annualized_volatility == pytest.approx(sd * 2)
    assert perf.sharpe == pytest.approx(np.mean(expected) / sd * 2)
    # Peak after day 2 (1.0098 * 1.0198), then down 0.5 %.
    assert perf.max_drawdown == pytest.approx(-0.005)
    assert perf.position_changes == 3


def test_buy_and_hold_pays_the_entry_once_and_tracks_the_price() -> None:
    close = np.array([1.10, 1.12, 1.09, 1.15])
    nxt = np.array([1.12, 1.09, 1.15, 1.21])
    perf = trading.performance(np.ones(4), close, nxt, cost_pips=0.8, periods_per_year=252)
    held = 1.21 / 1.10
    entry = 0.8 * 0.0001 / 1.10
    assert perf.cumulative_return == pytest.approx(
        (1 + 0.02 / 1.10 - entry) * held / (1.12 / 1.10) - 1
    )
    assert perf.position_changes == 1
    # The drawdown of 1.12 -> 1.09.
    assert perf.max_drawdown == pytest.approx(1.09 / 1.12 - 1, rel=1e-3)
    free = trading.performance(np.ones(4), close, nxt, cost_pips=0.0, periods_per_year=252)
    assert free.cumulative_return == pytest.approx(held - 1)
    assert free.annualized_return == pytest.approx(held ** (252 / 4) - 1)


def test_periods_per_year_from_dates() -> None:
    first, last = np.datetime64("2020-01-01"), np.datetime64("2022-01-01")
    assert trading.periods_per_year(first, last, 512) == pytest.approx(512 / (731 / 365.25))


def test_costs_are_in_pips_of_the_pair() -> None:
    # USD/JPY at 150: a pip is 0.01 yen, so 2 pips cost 0.02 / 150 of the notional per
    # change; at EUR/USD's pip the same cost would be 100 times too small.
    close = np.array([150.0, 150.0])
    pos = np.array([1, -1])
    jpy = Pair.parse("USDJPY").pip
    r = trading.daily_returns(pos, close, close, cost_pips=2.0, pip=jpy)
    np.testing.assert_allclose(r, [-0.02 / 150, -0.02 / 150], rtol=1e-12)
    eur = trading.daily_returns(pos, close, close, cost_pips=2.0, pip=Pair.parse("EURUSD").pip)
    np.testing.assert_allclose(r, eur * 100, rtol=1e-12)
    perf = trading.performance(pos, close, close, cost_pips=2.0, pip=jpy, periods_per_year=2)
    assert perf.cumulative_return == pytest.approx((1 - 0.02 / 150) ** 2 - 1)
