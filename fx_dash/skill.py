"""The "Is there skill?" panel: the backtest's verdict, in numbers, pictures and words.

Built from the evaluation tables (``eur_usd_backtest_summary``, ``eur_usd_backtest_yearly``)
and the equity curves the core derives from ``eur_usd_backtest`` and the closes. The
pictures are the core's (``fx_assets.core.evaluation.figures``): MLflow shows the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from dash import dcc, html

from fx_assets.core.contracts import BACKTEST, BACKTEST_SUMMARY, BACKTEST_YEARLY, STAGING
from fx_assets.core.evaluation import figures
from fx_assets.core.evaluation.summary import LABELS, STRATEGIES, equity_curves, verdict
from fx_assets.core.evaluation.trading import DISCLAIMER
from fx_assets.core.settings import sqlite_path
from fx_assets.core.warehouse import Warehouse

# Selection tools mean nothing on these charts, and on a third of the page's width their
# buttons would cover the titles.
GRAPH_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d"],
}
NO_BACKTEST = (
    "No backtest yet: the weekly training (or `fx run`) walks the champion's recipe forward"
    " over the whole history once a champion exists."
)


@dataclass(frozen=True)
class Skill:
    """What the panel shows; None where the table does not exist yet."""

    summary: pd.DataFrame | None = None
    yearly: pd.DataFrame | None = None
    curves: pd.DataFrame | None = None


def load_skill(url: str, *, cost_pips: float) -> Skill:
    """The evaluation tables, read-only; an empty Skill when they do not exist yet."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return Skill()
    wh = Warehouse.cached(url, read_only=True)
    if not all(wh.has(t) for t in (BACKTEST_SUMMARY, BACKTEST_YEARLY, BACKTEST, STAGING)):
        return Skill()
    summary = wh.read(BACKTEST_SUMMARY)
    if summary.empty:
        return Skill()
    # The page lists the strategies in their own order, the model first.
    order = {s: i for i, s in enumerate(STRATEGIES)}
    summary = summary.sort_values("strategy", key=lambda c: c.map(order)).reset_index(drop=True)
    rows = wh.read(BACKTEST)
    closes = wh.read(STAGING, start=rows["feature_date"].min().date(), columns=["date", "close"])
    curves = equity_curves(
        rows,
        dict(zip(pd.to_datetime(closes["date"]), closes["close"], strict=True)),
        cost_pips=cost_pips,
    )
    return Skill(summary=summary, yearly=wh.read(BACKTEST_YEARLY), curves=curves)


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _row(summary: pd.DataFrame, strategy: str) -> pd.Series:
    return summary.set_index("strategy").loc[strategy]


def skill_panel(skill: Skill) -> list[Any]:
    summary = skill.summary
    if summary is None or summary.empty:
        return [html.Div(NO_BACKTEST, className="message")]
    model = _row(summary, "model")
    headline = verdict(summary, "always_up")
    children: list[Any] = [
        html.Div(
            f"The model is {headline}.",
            id="skill-verdict",
            className="forecast-direction",
        ),
        html.Div(
            f"Walk-forward over {int(model['n'])} days: accuracy {_pct(model['accuracy'])}"
            f" (95 % CI {_pct(model['accuracy_ci_low'])}..{_pct(model['accuracy_ci_high'])});"
            f" against persistence: {verdict(summary, 'persistence')};"
            f" against momentum: {verdict(summary, 'momentum')}.",
            className="detail",
        ),
        dcc.Graph(
            id="skill-accuracy",
            figure=figures.accuracy_figure(summary),
            config=GRAPH_CONFIG,
            style={"height": "260px"},
        ),
    ]
    row: list[Any] = []
    if skill.curves is not None and not skill.curves.empty:
        row.append(
            html.Div(
                [
                    dcc.Graph(
                        id="skill-equity",
                        figure=figures.equity_figure(skill.curves),
                        config=GRAPH_CONFIG,
                        style={"height": "320px"},
                    ),
                    html.Div(DISCLAIMER, className="detail"),
                ],
                className="half",
            )
        )
    if skill.yearly is not None and not skill.yearly.empty:
        row.append(
            html.Div(
                dcc.Graph(
                    id="skill-yearly",
                    figure=figures.yearly_figure(skill.yearly),
                    config=GRAPH_CONFIG,
                    style={"height": "320px"},
                ),
                className="half",
            )
        )
    if row:
        children.append(html.Div(row, className="row"))
    children.append(_table(summary))
    return children


def _table(summary: pd.DataFrame) -> html.Table:
    head = html.Tr(
        [
            html.Th(h)
            for h in (
                "strategy",
                "accuracy",
                "95 % CI",
                "p (model vs it)",
                "Sharpe",
                "max drawdown",
            )
        ]
    )
    body = []
    for row in summary.itertuples():
        p = "" if pd.isna(row.p_value) else f"{row.p_value:.3f}"
        sharpe = "" if pd.isna(row.sharpe) else f"{row.sharpe:+.2f}"
        drawdown = "" if pd.isna(row.max_drawdown) else _pct(row.max_drawdown)
        body.append(
            html.Tr(
                [
                    html.Td(LABELS.get(row.strategy, row.strategy)),
                    html.Td(_pct(row.accuracy)),
                    html.Td(f"{_pct(row.accuracy_ci_low)}..{_pct(row.accuracy_ci_high)}"),
                    html.Td(p),
                    html.Td(sharpe),
                    html.Td(drawdown),
                ]
            )
        )
    return html.Table([head, *body], id="skill-table", className="predictions")
