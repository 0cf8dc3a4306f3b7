"""The book traded across pairs: an illustration of the forecasts' cross-sectional use.

Illustration only, not investment advice. Dagster-free. What predictability the
literature finds in currencies is cross-sectional (ranking currencies against each
other), so this asks what the backtest's probabilities would have earned as a ranking:
each day, long the ``k`` pairs most likely up and short the ``k`` least likely (by
``probability_up``), each position ``1 / (2k)`` of the book, held to the next day and
earning the pair's next-day log return; against an equal-weight book long every pair
(``1 / m`` each). Costs are ``trading.change_costs``, as for one pair: ``cost_pips`` of
the pair's own pip (0.01 for JPY quotes) on every change of its position, the first
entry included, as a fraction of its close, scaled by the position's weight. No carry,
no slippage, no leverage.

The book trades on the days every pair has a forecast (the pairs of one source share
a calendar, so this drops nothing there); ties in ``probability_up`` go to the pair
listed first.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from fx_assets.core.evaluation import trading
from fx_assets.core.pairs import Pair

DEFAULT_K = 2
LABEL = f"Cross-sectional long-short: {trading.DISCLAIMER}"


@dataclass(frozen=True)
class BookFigures:
    """One book's daily net log returns, summarised."""

    days: int
    mean_daily_return: float
    sharpe: float  # annualised, zero risk-free rate
    hit_rate: float  # share of days with a positive net return
    total_return: float  # sum of the daily net log returns
    total_cost: float  # sum of the daily costs, in the same units


@dataclass(frozen=True)
class CrossSection:
    """The long-short book against the equal-weight book: an illustration, not advice."""

    k: int
    pairs: tuple[str, ...]
    long_short: BookFigures
    equal_weight: BookFigures
    daily: pd.DataFrame  # feature_date, long_short, equal_weight (net log returns)
    label: str = LABEL

    def figures(self) -> dict[str, float | int | str]:
        """Flat figures for run metadata and tracking, labelled as an illustration."""
        out: dict[str, float | int | str] = {"label": self.label, "k": self.k}
        for book in ("long_short", "equal_weight"):
            out.update({f"{book}_{k}": v for k, v in asdict(getattr(self, book)).items()})
        return out


def rank_positions(probability_up: np.ndarray, k: int) -> np.ndarray:
    """+1 for the ``k`` highest of each row, -1 for the ``k`` lowest, 0 between.

    Rows are days, columns pairs; a stable sort keeps ties in column order, and the
    shorts are taken from the far end of the same order so no pair is both.
    """
    p = np.asarray(probability_up, dtype=float)
    m = p.shape[1]
    if not 1 <= k <= m // 2:
        raise ValueError(f"k must be between 1 and half the book ({m // 2}), not {k}")
    order = np.argsort(-p, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(m)[None, :].repeat(len(p), axis=0), axis=1)
    return np.where(rank < k, 1, np.where(rank >= m - k, -1, 0))


def _wide(backtest: pd.DataFrame, closes: pd.DataFrame, pairs: list[str]) -> pd.DataFrame:
    """One row per (feature_date, pair) present for every pair, with its close and next."""
    px = closes.assign(date=pd.to_datetime(closes["date"])).set_index(["pair", "date"])["close"]
    bt = backtest.assign(
        feature_date=pd.to_datetime(backtest["feature_date"]),
        target_date=pd.to_datetime(backtest["target_date"]),
    )
    for column, name in (("feature_date", "close"), ("target_date", "next_close")):
        keys = pd.MultiIndex.from_arrays([bt["pair"], bt[column]])
        bt[name] = px.reindex(keys).to_numpy()
        missing = bt[bt[name].isna()]
        if not missing.empty:
            first = missing.iloc[0]
            raise ValueError(
                f"no close of {first['pair']} on {first[column]:%Y-%m-%d}, a backtest date:"
                " rematerialize its staging table before the book's illustration"
            )
    shared = bt.groupby("feature_date")["pair"].transform("nunique") == len(pairs)
    return bt[shared].sort_values(["feature_date", "pair"])


def _figures(returns: np.ndarray, costs: np.ndarray, per_year: float) -> BookFigures:
    sd = float(np.std(returns, ddof=1)) if len(returns) > 1 else float("nan")
    mean = float(np.mean(returns))
    return BookFigures(
        days=len(returns),
        mean_daily_return=mean,
        sharpe=mean / sd * float(np.sqrt(per_year)) if sd > 0 else float("nan"),
        hit_rate=float(np.mean(returns > 0)),
        total_return=float(np.sum(returns)),
        total_cost=float(np.sum(costs)),
    )


def _book(
    position: np.ndarray,
    weight: float,
    close: np.ndarray,
    log_return: np.ndarray,
    *,
    pairs: list[str],
    cost_pips: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Each day's net return and cost of a book holding ``weight`` of each position."""
    cost = np.column_stack(
        [
            trading.change_costs(
                position[:, j], close[:, j], cost_pips=cost_pips, pip=Pair.parse(pair).pip
            )
            for j, pair in enumerate(pairs)
        ]
    )
    gross = weight * (position * log_return).sum(axis=1)
    paid = weight * cost.sum(axis=1)
    return gross - paid, paid


def cross_section(
    backtest: pd.DataFrame,
    closes: pd.DataFrame,
    *,
    k: int = DEFAULT_K,
    cost_pips: float = trading.DEFAULT_COST_PIPS,
) -> CrossSection:
    """The long-short book of ``k`` pairs a side against the equal-weight book.

    ``backtest``: the pairs' backtests (``pair``, ``feature_date``, ``target_date``,
    ``probability_up``); ``closes``: the pairs' closes (``pair``, ``date``, ``close``).
    """
    pairs = [Pair.parse(p).code for p in pd.unique(backtest["pair"])]
    if len(pairs) < 2 * k:
        raise ValueError(
            f"a long-short book of {k} pairs a side needs {2 * k} pairs, the backtest has"
            f" {len(pairs)}: lower k or add pairs"
        )
    codes = backtest["pair"].map(lambda p: Pair.parse(p).code)
    rows = _wide(backtest.assign(pair=codes), closes, pairs)
    if rows.empty:
        raise ValueError("no day has a forecast for every pair: backtest every pair first")

    def wide(column: str) -> np.ndarray:
        return rows.pivot(index="feature_date", columns="pair", values=column)[pairs].to_numpy()

    prob, close, nxt = wide("probability_up"), wide("close"), wide("next_close")
    log_return = np.log(nxt / close)
    ls, ls_cost = _book(
        rank_positions(prob, k), 1 / (2 * k), close, log_return, pairs=pairs, cost_pips=cost_pips
    )
    ew, ew_cost = _book(
        np.ones_like(prob), 1 / len(pairs), close, log_return, pairs=pairs, cost_pips=cost_pips
    )
    dates = np.sort(rows["feature_date"].unique())
    per_year = trading.periods_per_year(
        dates[0], rows["target_date"].max().to_datetime64(), len(dates)
    )
    return CrossSection(
        k=k,
        pairs=tuple(pairs),
        long_short=_figures(ls, ls_cost, per_year),
        equal_weight=_figures(ew, ew_cost, per_year),
        daily=pd.DataFrame({"feature_date": dates, "long_short": ls, "equal_weight": ew}),
    )
