"""The walk-forward backtest as consumers read it: summaries, verdicts, yearly rows, curves."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from fx_assets.core.contracts import BACKTEST, BACKTEST_SUMMARY, BACKTEST_YEARLY, STAGING
from fx_assets.core.domain import BASELINES
from fx_assets.core.evaluation.summary import STRATEGIES, equity_curves, verdict
from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.readmodel.stores import pair_code
from fx_assets.core.warehouse import Warehouse


@dataclass(frozen=True)
class Backtest:
    """The backtest's skill; ``summary`` is None before the first backtest."""

    summary: pd.DataFrame | None = None
    # The model against each baseline, in words ("not distinguishable from always-up, ...").
    verdicts: dict[str, str] = field(default_factory=dict)
    yearly: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None

    @property
    def verdict(self) -> str | None:
        """The headline: the model against always-up."""
        return self.verdicts.get("always_up")


def backtest_summary(wh: Warehouse, *, pair: str = DEFAULT_PAIR) -> Backtest:
    """``pair``'s summary rows, model first then the baselines, and the verdicts."""
    if not wh.has(BACKTEST_SUMMARY):
        return Backtest()
    summary = wh.read(BACKTEST_SUMMARY, pair=pair_code(pair), columns=BACKTEST_SUMMARY.column_names)
    if summary.empty:
        return Backtest()
    order = {s: i for i, s in enumerate(STRATEGIES)}
    summary = summary.sort_values("strategy", key=lambda c: c.map(order)).reset_index(drop=True)
    return Backtest(summary=summary, verdicts={b: verdict(summary, b) for b in BASELINES})


def backtest_report(wh: Warehouse, *, cost_pips: float, pair: str = DEFAULT_PAIR) -> Backtest:
    """``pair``'s summary with the yearly rows and the equity curves (at ``cost_pips`` a
    trade); an empty report until every evaluation table exists."""
    if not all(wh.has(t) for t in (BACKTEST_YEARLY, BACKTEST, STAGING)):
        return Backtest()
    code = pair_code(pair)
    found = backtest_summary(wh, pair=code)
    if found.summary is None:
        return found
    rows = wh.read(BACKTEST, pair=code)
    closes = wh.read(
        STAGING, start=rows["feature_date"].min().date(), columns=["date", "close"], pair=code
    )
    curves = equity_curves(
        rows,
        dict(zip(pd.to_datetime(closes["date"]), closes["close"], strict=True)),
        cost_pips=cost_pips,
    )
    return Backtest(
        summary=found.summary,
        verdicts=found.verdicts,
        yearly=wh.read(BACKTEST_YEARLY, pair=code),
        curves=curves,
    )
