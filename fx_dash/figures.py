"""Plotly figures for the page, built from plain DataFrames.

Figures are plain Plotly JSON dicts, not ``graph_objects``: building and validating
objects with a template costs about half a second per figure, and the template would add
kilobytes to every response. ``dcc.Graph`` takes the dict as it is.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from fx_assets.core.evaluation.figures import BASELINE, MODEL, Figure, axis
from fx_assets.core.readmodel.accuracy import ROLLING_WINDOW

UP = "#1a7f37"
DOWN = "#cf222e"
# Prediction markers: colours apart from the candles' green and red.
PREDICTED_UP = MODEL
PREDICTED_DOWN = "#8250df"
BAND = "rgba(9, 105, 218, 0.15)"
CLOSE_ONLY_LABEL = "close (close-only source: no open/high/low)"
# Every chart's toolbar: selection tools mean nothing on these charts, and on a third of
# the page's width their buttons would cover the titles.
GRAPH_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d"],
}


def layout(**extra: Any) -> dict[str, Any]:
    return {
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"family": "-apple-system, Segoe UI, Helvetica, Arial, sans-serif", "size": 12},
        "margin": {"l": 60, "r": 20, "t": 30, "b": 40},
        "legend": {"orientation": "h", "y": 1.0, "yanchor": "bottom", "x": 0},
        "hovermode": "x unified",
        **extra,
    }


def dates(values: pd.Series) -> list[str]:
    return [f"{d:%Y-%m-%d}" for d in pd.to_datetime(values)]


def numbers(values: pd.Series, digits: int = 5) -> list[float | None]:
    return [None if pd.isna(v) else round(float(v), digits) for v in values]


def ohlc_mask(prices: pd.DataFrame) -> pd.Series:
    """Rows whose source gave open, high and low (candlesticks); the rest are close-only."""
    if prices.empty:
        return pd.Series(dtype=bool)
    return prices[["open", "high", "low"]].notna().all(axis=1)


def empty_figure(message: str) -> Figure:
    return {
        "data": [],
        "layout": layout(
            xaxis={"visible": False},
            yaxis={"visible": False},
            annotations=[
                {
                    "text": message,
                    "showarrow": False,
                    "xref": "paper",
                    "yref": "paper",
                    "x": 0.5,
                    "y": 0.5,
                    "font": {"size": 14, "color": "#57606a"},
                }
            ],
        ),
    }


def _per(label: str) -> str:
    """``EUR/USD`` -> ``USD per EUR``: what the price axis counts."""
    base, _, quote = label.partition("/")
    return f"{quote} per {base}" if quote else label


def price_figure(
    prices: pd.DataFrame, predictions: pd.DataFrame | None = None, label: str = "EUR/USD"
) -> Figure:
    """``label``'s candlesticks where the source gave OHLC, a labelled close line where it
    did not, and optional markers for the predicted direction at each target date."""
    if prices.empty:
        return empty_figure("No prices yet: run `fx run`.")
    prices = prices.sort_values("date")
    mask = ohlc_mask(prices)
    data: list[dict[str, Any]] = []
    if mask.any():
        bars = prices[mask]
        data.append(
            {
                "type": "candlestick",
                "name": f"{label} (OHLC)",
                "x": dates(bars["date"]),
                "open": numbers(bars["open"]),
                "high": numbers(bars["high"]),
                "low": numbers(bars["low"]),
                "close": numbers(bars["close"]),
                "increasing": {"line": {"color": UP}},
                "decreasing": {"line": {"color": DOWN}},
            }
        )
    if not mask.all():
        line = prices[~mask]
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": CLOSE_ONLY_LABEL,
                "x": dates(line["date"]),
                "y": numbers(line["close"]),
                "line": {"color": "#24292f", "width": 1.5},
            }
        )
    if predictions is not None and not predictions.empty:
        data.extend(prediction_markers(prices, predictions))
    return {
        "data": data,
        "layout": layout(
            xaxis=axis(type="date", rangeslider={"visible": False}),
            # EUR/USD is priced in dollars per euro: the quote per one of the base.
            yaxis=axis(title={"text": _per(label)}, tickformat=".4f"),
            uirevision="prices",
        ),
    }


def prediction_markers(prices: pd.DataFrame, joined: pd.DataFrame) -> list[dict[str, Any]]:
    """Each prediction at its target date, at the close it was made from (the level the
    forecast is relative to); up/down triangles, the hover says whether it came true."""
    closes = pd.Series(prices["close"].to_numpy(), index=pd.to_datetime(prices["date"]))
    preds = joined[joined["feature_date"].isin(closes.index)]
    traces = []
    for direction, name, symbol, colour in (
        (1, "predicted up", "triangle-up", PREDICTED_UP),
        (0, "predicted down or flat", "triangle-down", PREDICTED_DOWN),
    ):
        part = preds[preds["direction"] == direction]
        if part.empty:
            continue
        outcome = part["correct"].map({True: "came true", False: "did not come true"})
        hover = [
            f"forecast for {t:%Y-%m-%d} (from {f:%Y-%m-%d}): p(up) {p:.1%}, {o}"
            for t, f, p, o in zip(
                part["target_date"],
                part["feature_date"],
                part["probability_up"],
                outcome.astype(object).where(outcome.notna(), "not resolved yet"),
                strict=True,
            )
        ]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": name,
                "x": dates(part["target_date"]),
                "y": numbers(part["feature_date"].map(closes)),
                "marker": {
                    "symbol": symbol,
                    "size": 10,
                    "color": colour,
                    "line": {"width": 1, "color": "white"},
                },
                "hovertext": hover,
                "hoverinfo": "text",
            }
        )
    return traces


def rolling_accuracy_figure(rolling: pd.DataFrame) -> Figure:
    """Trailing accuracy (``readmodel.accuracy.rolling_accuracy``) with its 95 % exact
    binomial band, always-up on the same days, and the 50 % line."""
    if rolling.empty:
        return empty_figure("No resolved prediction yet: accuracy appears once outcomes do.")
    x = dates(rolling["feature_date"])
    line = {"type": "scatter", "mode": "lines", "x": x}
    return {
        "data": [
            {
                **line,
                "name": "95% band",
                "y": numbers(rolling["ci_low"], 4),
                "line": {"width": 0},
                "showlegend": False,
                "hoverinfo": "skip",
            },
            {
                **line,
                "name": "95% band",
                "y": numbers(rolling["ci_high"], 4),
                "line": {"width": 0},
                "fill": "tonexty",
                "fillcolor": BAND,
            },
            {
                **line,
                "name": f"model, last {ROLLING_WINDOW}",
                "y": numbers(rolling["accuracy"], 4),
                "line": {"color": MODEL, "width": 2},
            },
            {
                **line,
                "name": "always up, same days",
                "y": numbers(rolling["baseline_accuracy"], 4),
                "line": {"color": BASELINE, "width": 1.5, "dash": "dot"},
            },
        ],
        "layout": layout(
            xaxis=axis(type="date", title={"text": "feature date"}),
            yaxis=axis(tickformat=".0%", range=[0, 1]),
            shapes=[
                {
                    "type": "line",
                    "xref": "paper",
                    "x0": 0,
                    "x1": 1,
                    "y0": 0.5,
                    "y1": 0.5,
                    "line": {"color": "#d0d7de", "width": 1},
                }
            ],
        ),
    }
