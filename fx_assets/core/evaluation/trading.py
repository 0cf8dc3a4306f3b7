"""The trading view of a direction forecast: an illustration, not advice.

Dagster-free. Long the pair for the next day when the forecast is up, short otherwise,
one unit of notional, no leverage, no interest carry, no slippage beyond a fixed cost
of ``cost_pips`` pips of the pair (default 0.8, a retail-ish EUR/USD spread; a pip is
``Pair.pip``: 0.0001, or 0.01 for JPY quotes) charged in price terms on every position
change, including the first entry from flat. Buy-and-hold is the
strategy that is long every day (it pays the entry once). Sharpe uses a zero risk-free
rate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_COST_PIPS = 0.8
PIP = 0.0001  # one pip of EUR/USD, in USD per EUR (``Pair.pip`` gives each pair's)
DISCLAIMER = "Illustration only, not investment advice: fixed costs, no carry, no slippage."


@dataclass(frozen=True)
class Trading:
    cumulative_return: float
    annualized_return: float
    annualized_volatility: float
    sharpe: float
    max_drawdown: float  # the worst fall from a previous peak, as a negative fraction
    position_changes: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def figures(self) -> dict[str, float]:
        """The figures of a summary row (without the count of position changes)."""
        return {k: float(v) for k, v in asdict(self).items() if k != "position_changes"}


def positions(direction: np.ndarray) -> np.ndarray:
    """+1 (long) where the forecast direction is 1 (up), -1 (short) elsewhere."""
    return np.where(np.asarray(direction) == 1, 1, -1)


def change_costs(
    position: np.ndarray, close: np.ndarray, *, cost_pips: float, pip: float = PIP
) -> np.ndarray:
    """Each day's cost as a fraction of the close: ``cost_pips`` pips of ``pip`` on every
    change of position, the first entry from flat included (a flip pays once)."""
    position = np.asarray(position, dtype=float)
    previous = np.concatenate([[0.0], position[:-1]])
    return np.where(position != previous, cost_pips * pip / np.asarray(close, dtype=float), 0.0)


def daily_returns(
    position: np.ndarray,
    close: np.ndarray,
    next_close: np.ndarray,
    *,
    cost_pips: float,
    pip: float = PIP,
) -> np.ndarray:
    """Each day's net return: the position times the next day's move, minus any change cost
    (``cost_pips`` pips of ``pip`` each, in the pair's price)."""
    position = np.asarray(position, dtype=float)
    close = np.asarray(close, dtype=float)
    move = np.asarray(next_close, dtype=float) / close - 1
    return position * move - change_costs(position, close, cost_pips=cost_pips, pip=pip)


def equity_curve(returns: np.ndarray) -> np.ndarray:
    """The value of 1 invested at the start, after each day."""
    return np.cumprod(1 + np.asarray(returns, dtype=float))


def performance(
    position: np.ndarray,
    close: np.ndarray,
    next_close: np.ndarray,
    *,
    cost_pips: float = DEFAULT_COST_PIPS,
    pip: float = PIP,
    periods_per_year: float,
) -> Trading:
    """Cumulative and annualised return, volatility, Sharpe and maximum drawdown."""
    r = daily_returns(position, close, next_close, cost_pips=cost_pips, pip=pip)
    equity = equity_curve(r)
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    sd = float(np.std(r, ddof=1)) if len(r) > 1 else float("nan")
    sharpe = float(np.mean(r) / sd * np.sqrt(periods_per_year)) if sd > 0 else float("nan")
    position = np.asarray(position)
    previous = np.concatenate([[0], position[:-1]])
    return Trading(
        cumulative_return=float(equity[-1] - 1),
        annualized_return=float(equity[-1] ** (periods_per_year / len(r)) - 1),
        annualized_volatility=sd * float(np.sqrt(periods_per_year)),
        sharpe=sharpe,
        max_drawdown=float(np.min(equity / peak - 1)),
        position_changes=int(np.sum(position != previous)),
    )


def periods_per_year(first: np.datetime64, last: np.datetime64, n: int) -> float:
    """Trading days per calendar year in a series of ``n`` days from ``first`` to ``last``."""
    years = (np.datetime64(last, "D") - np.datetime64(first, "D")).astype(int) / 365.25
    return n / years if years > 0 else float(n)
