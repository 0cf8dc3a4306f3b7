"""The backtest's verdict: one row per strategy, overall and per calendar year.

Dagster-free. Strategies: ``model`` (the walk-forward forecasts) and the three baselines
of ``domain.BASELINES``. Every row is scored on the same days with the same bootstrap
resamples, so the model's p-value against a baseline is a paired test (see ``stats``).
``pr_auc`` applies to forecasts that rank days: the model's probability, and always-up,
whose constant forecast ranks nothing and so scores exactly the share of up days, the
reference a PR-AUC is read against; persistence and momentum give bare directions, so
theirs is null. ``brier`` is the model's only (the baselines state no probability).
The trading columns come from ``trading.performance``; the always-up row's are buy-and-hold.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from fx_assets.core.contracts import BACKTEST_SUMMARY, BACKTEST_YEARLY, FINAL, STAGING
from fx_assets.core.domain import BASELINES
from fx_assets.core.evaluation import stats, trading

STRATEGIES = ("model", *BASELINES)
LABELS = {
    "model": "the model",
    "always_up": "always-up",
    "persistence": "persistence",
    "momentum": "momentum",
}
TRADING_COLUMNS = [
    "cumulative_return",
    "annualized_return",
    "annualized_volatility",
    "sharpe",
    "max_drawdown",
]
# The tables' columns are their contracts' but the pair's (the frames built here are one
# pair's; the warehouse writes the pair), in that order.
SUMMARY_COLUMNS = BACKTEST_SUMMARY.seed_columns
# Per year: the skill columns; a year is too short for trading figures worth reading.
YEARLY_COLUMNS = BACKTEST_YEARLY.seed_columns


def directions(backtest: pd.DataFrame, strategy: str) -> np.ndarray:
    column = "direction" if strategy == "model" else strategy
    return backtest[column].to_numpy(dtype=int)


def _rows(
    bt: pd.DataFrame,
    closes: Mapping[pd.Timestamp, float] | None,
    *,
    block: int,
    resamples: int,
    seed: int,
    cost_pips: float,
    pip: float = trading.PIP,
) -> list[dict[str, object]]:
    y = bt["actual"].to_numpy(dtype=int)
    p = bt["probability_up"].to_numpy(dtype=float)
    boot = {"block": block, "resamples": resamples, "seed": seed}
    hits = {s: (directions(bt, s) == y).astype(float) for s in STRATEGIES}
    pr = {"model": stats.pr_auc_interval(y, p, **boot), "always_up": stats.mean_interval(y, **boot)}
    trade = _trading(bt, closes, cost_pips, pip) if closes is not None else {}
    out = []
    for strategy in STRATEGIES:
        acc = stats.mean_interval(hits[strategy], **boot)
        vs = (
            None
            if strategy == "model"
            else stats.paired_difference(hits["model"], hits[strategy], **boot)
        )
        auc = pr.get(strategy)
        out.append(
            {
                "strategy": strategy,
                "n": len(bt),
                "accuracy": acc.value,
                "accuracy_ci_low": acc.low,
                "accuracy_ci_high": acc.high,
                "pr_auc": auc.value if auc else None,
                "pr_auc_ci_low": auc.low if auc else None,
                "pr_auc_ci_high": auc.high if auc else None,
                "brier": float(np.mean((p - y) ** 2)) if strategy == "model" else None,
                "p_value": vs.p_value if vs else None,
                **trade.get(strategy, dict.fromkeys(TRADING_COLUMNS)),
            }
        )
    return out


def _prices(
    bt: pd.DataFrame, closes: Mapping[pd.Timestamp, float]
) -> tuple[np.ndarray, np.ndarray]:
    """The close on each feature date and on its target date."""
    try:
        close = np.array([closes[pd.Timestamp(d)] for d in bt["feature_date"]], dtype=float)
        nxt = np.array([closes[pd.Timestamp(d)] for d in bt["target_date"]], dtype=float)
    except KeyError as exc:
        raise ValueError(
            f"{STAGING.name} has no close for {exc.args[0]:%Y-%m-%d}, a backtest date:"
            f" rematerialize {STAGING.name} and {FINAL.name}"
        ) from None
    return close, nxt


def _trading(
    bt: pd.DataFrame, closes: Mapping[pd.Timestamp, float], cost_pips: float, pip: float
) -> dict[str, dict[str, float | int]]:
    close, nxt = _prices(bt, closes)
    per_year = trading.periods_per_year(
        bt["feature_date"].iloc[0].to_datetime64(),
        bt["target_date"].iloc[-1].to_datetime64(),
        len(bt),
    )
    return {
        s: trading.performance(
            trading.positions(directions(bt, s)),
            close,
            nxt,
            cost_pips=cost_pips,
            pip=pip,
            periods_per_year=per_year,
        ).figures()
        for s in STRATEGIES
    }


def summarize(
    backtest: pd.DataFrame,
    closes: Mapping[pd.Timestamp, float] | None = None,
    *,
    block: int = stats.DEFAULT_BLOCK,
    resamples: int = stats.DEFAULT_RESAMPLES,
    seed: int = 0,
    cost_pips: float = trading.DEFAULT_COST_PIPS,
    pip: float = trading.PIP,
) -> pd.DataFrame:
    """One row per strategy over the whole backtest (columns SUMMARY_COLUMNS).

    ``closes`` maps each date to its close, for the trading columns (null without it);
    a position change costs ``cost_pips`` pips of the pair, one pip being ``pip``.
    """
    if backtest.empty:
        raise ValueError("the backtest has no rows to summarize")
    bt = backtest.sort_values("feature_date").reset_index(drop=True)
    rows = _rows(
        bt, closes, block=block, resamples=resamples, seed=seed, cost_pips=cost_pips, pip=pip
    )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def summarize_by_year(
    backtest: pd.DataFrame,
    *,
    block: int = stats.DEFAULT_BLOCK,
    resamples: int = stats.DEFAULT_RESAMPLES,
    seed: int = 0,
) -> pd.DataFrame:
    """The same per calendar year of ``feature_date`` (columns YEARLY_COLUMNS)."""
    bt = backtest.sort_values("feature_date").reset_index(drop=True)
    years = pd.to_datetime(bt["feature_date"]).dt.year
    rows = []
    for year, part in bt.groupby(years, sort=True):
        part = part.reset_index(drop=True)
        for row in _rows(part, None, block=block, resamples=resamples, seed=seed, cost_pips=0):
            rows.append({**row, "year": int(year)})
    return pd.DataFrame(rows, columns=YEARLY_COLUMNS)


def verdict(summary: pd.DataFrame, against: str = "always_up") -> str:
    """The model against one baseline in words, from a summary's rows."""
    rows = summary.set_index("strategy")
    diff = float(rows.at["model", "accuracy"] - rows.at[against, "accuracy"])
    return stats.verdict(diff, float(rows.at[against, "p_value"]), LABELS[against])


def equity_curves(
    backtest: pd.DataFrame,
    closes: Mapping[pd.Timestamp, float],
    *,
    cost_pips: float = trading.DEFAULT_COST_PIPS,
    pip: float = trading.PIP,
) -> pd.DataFrame:
    """The value of 1 after each target date: the model's long/short and buy-and-hold."""
    bt = backtest.sort_values("feature_date").reset_index(drop=True)
    close, nxt = _prices(bt, closes)

    def curve(strategy: str) -> np.ndarray:
        position = trading.positions(directions(bt, strategy))
        return trading.equity_curve(
            trading.daily_returns(position, close, nxt, cost_pips=cost_pips, pip=pip)
        )

    return pd.DataFrame(
        {
            "date": pd.to_datetime(bt["target_date"]),
            "model": curve("model"),
            "buy_and_hold": curve("always_up"),
        }
    )
