"""The backtest's pictures as plain Plotly dicts: one drawing for the page and for MLflow.

Dagster-free and Dash-free. The dashboard shows these dicts in ``dcc.Graph``; the
evaluation asset writes them to MLflow as standalone HTML (``to_html``), so the MLflow
UI and the page show the same verdict.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from fx_assets.core.evaluation.summary import LABELS

Figure = dict[str, Any]
# The page's colours too (fx_dash.figures takes them from here): one palette.
MODEL = "#0969da"
BASELINE = "#8c959f"
GRID = "#eaeef2"
NOT_ADVICE = "illustration, not advice"


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    # The title on its own line at the top left, the legend on the next, just above the
    # plot: on a half-width chart a centred title ran into both (and into the modebar).
    return {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "title": {
            "text": title,
            "font": {"size": 13},
            "x": 0,
            "xanchor": "left",
            "y": 1,
            "yref": "container",
            "yanchor": "top",
            "pad": {"t": 8, "l": 8},
        },
        "margin": {"l": 60, "r": 20, "t": 64, "b": 40},
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
        **extra,
    }


def axis(**extra: Any) -> dict[str, Any]:
    return {"gridcolor": GRID, "zeroline": False, "automargin": True, **extra}


def accuracy_figure(summary: pd.DataFrame) -> Figure:
    """Dot-and-whisker: each strategy's accuracy with its 95 % interval, and the 50 % line."""
    rows = summary.iloc[::-1]  # the model on top
    colours = [MODEL if s == "model" else BASELINE for s in rows["strategy"]]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "markers",
                "x": [round(float(v), 4) for v in rows["accuracy"]],
                "y": [LABELS.get(s, s) for s in rows["strategy"]],
                "marker": {"size": 10, "color": colours},
                "error_x": {
                    "type": "data",
                    "symmetric": False,
                    "array": [
                        round(float(v), 4) for v in rows["accuracy_ci_high"] - rows["accuracy"]
                    ],
                    "arrayminus": [
                        round(float(v), 4) for v in rows["accuracy"] - rows["accuracy_ci_low"]
                    ],
                    "color": "#57606a",
                },
                "hovertemplate": "%{y}: %{x:.1%}<extra></extra>",
                "showlegend": False,
            }
        ],
        "layout": _layout(
            "Backtest accuracy, 95 % interval",
            xaxis=axis(tickformat=".1%"),
            yaxis=axis(),
            shapes=[_vline(0.5)],
        ),
    }


def _vline(x: float) -> dict[str, Any]:
    return {
        "type": "line",
        "yref": "paper",
        "y0": 0,
        "y1": 1,
        "x0": x,
        "x1": x,
        "line": {"color": "#d0d7de", "width": 1, "dash": "dot"},
    }


def equity_figure(curves: pd.DataFrame) -> Figure:
    """Growth of 1 in the long/short model strategy against buy-and-hold (with costs)."""
    x = [f"{pd.Timestamp(d):%Y-%m-%d}" for d in curves["date"]]
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "name": "model long/short",
                "x": x,
                "y": [round(float(v), 4) for v in curves["model"]],
                "line": {"color": MODEL, "width": 1.5},
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "buy and hold the pair",
                "x": x,
                "y": [round(float(v), 4) for v in curves["buy_and_hold"]],
                "line": {"color": BASELINE, "width": 1.5, "dash": "dot"},
            },
        ],
        "layout": _layout(
            "Equity of 1, after costs",
            # Under the curves, in MLflow's copy too: the page repeats it below the chart.
            xaxis=axis(type="date", title={"text": NOT_ADVICE, "font": {"size": 11}}),
            yaxis=axis(),
            hovermode="x unified",
        ),
    }


def yearly_figure(yearly: pd.DataFrame) -> Figure:
    """Accuracy per calendar year: the model against always-up."""
    data = []
    for strategy, colour in (("model", MODEL), ("always_up", BASELINE)):
        part = yearly[yearly["strategy"] == strategy].sort_values("year")
        data.append(
            {
                "type": "bar",
                "name": LABELS[strategy],
                "x": [int(v) for v in part["year"]],
                "y": [round(float(v), 4) for v in part["accuracy"]],
                "marker": {"color": colour},
            }
        )
    return {
        "data": data,
        "layout": _layout(
            "Accuracy per year",
            barmode="group",
            xaxis=axis(dtick=2),
            yaxis=axis(tickformat=".0%", range=[0.35, 0.65]),
        ),
    }


def to_html(figure: Figure) -> str:
    """A standalone HTML page of ``figure`` (plotly.js from its CDN, for the MLflow UI)."""
    import plotly.io

    return str(plotly.io.to_html(figure, include_plotlyjs="cdn", full_html=True))
