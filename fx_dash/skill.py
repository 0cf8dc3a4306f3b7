"""The "Is there skill?" panel: the backtest's verdict, in numbers, pictures and words.

Read through the read model (``readmodel.backtest``: the summary, yearly rows, equity
curves and verdicts). The pictures are the core's (``fx_assets.core.evaluation.figures``):
MLflow shows the same.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc, html

from fx_assets.core.evaluation import figures
from fx_assets.core.evaluation.summary import LABELS
from fx_assets.core.evaluation.trading import DISCLAIMER
from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.readmodel.backtest import Backtest, backtest_report
from fx_assets.core.readmodel.stores import missing_file, open_warehouse
from fx_dash.figures import GRAPH_CONFIG
from fx_dash.panels import pct

NO_BACKTEST = (
    "No backtest yet: the weekly training (or `fx run`) walks the champion's recipe forward"
    " over the whole history once a champion exists."
)


def load_skill(url: str, *, cost_pips: float, pair: str = DEFAULT_PAIR) -> Backtest:
    """``pair``'s evaluation rows, read-only; an empty report when there are none yet."""
    if missing_file(url) is not None:
        return Backtest()
    return backtest_report(open_warehouse(url), cost_pips=cost_pips, pair=pair)


def _row(summary: pd.DataFrame, strategy: str) -> pd.Series:
    return summary.set_index("strategy").loc[strategy]


def skill_panel(skill: Backtest) -> list[Any]:
    summary = skill.summary
    if summary is None or summary.empty:
        return [html.Div(NO_BACKTEST, className="message")]
    model = _row(summary, "model")
    headline = skill.verdict
    children: list[Any] = [
        html.Div(
            f"The model is {headline}.",
            id="skill-verdict",
            className="forecast-direction",
        ),
        html.Div(
            f"Walk-forward over {int(model['n'])} days: accuracy {pct(model['accuracy'])}"
            f" (95 % CI {pct(model['accuracy_ci_low'])}..{pct(model['accuracy_ci_high'])});"
            f" against persistence: {skill.verdicts['persistence']};"
            f" against momentum: {skill.verdicts['momentum']}.",
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
        drawdown = "" if pd.isna(row.max_drawdown) else pct(row.max_drawdown)
        body.append(
            html.Tr(
                [
                    html.Td(LABELS.get(row.strategy, row.strategy)),
                    html.Td(pct(row.accuracy)),
                    html.Td(f"{pct(row.accuracy_ci_low)}..{pct(row.accuracy_ci_high)}"),
                    html.Td(p),
                    html.Td(sharpe),
                    html.Td(drawdown),
                ]
            )
        )
    return html.Table([head, *body], id="skill-table", className="predictions")
