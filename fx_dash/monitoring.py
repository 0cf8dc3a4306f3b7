"""The monitoring panel: feature drift, realized accuracy, prediction drift, freshness, alerts.

Read-only like the rest of the page, and filled by its own callback, so a monitoring
table that does not exist yet (no monitoring run so far) shows an empty state, never an
error. The figures are plain Plotly dicts, as in ``fx_dash.figures``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from dash import dcc, html

from fx_assets.core.alerts import newest_alerts
from fx_assets.core.contracts import DRIFT, FINAL, PERFORMANCE, PREDICTIONS, RAW
from fx_assets.core.monitoring.performance import resolve, rolling_accuracy
from fx_assets.core.monitoring.store import newest_rows
from fx_assets.core.monitoring.verdicts import drift_verdict, performance_verdict
from fx_assets.core.redaction import redact_url
from fx_assets.core.settings import sqlite_path
from fx_assets.core.warehouse import Warehouse
from fx_dash.figures import BASELINE, DOWN, MODEL, Figure, _axis, _dates, _layout, _numbers
from fx_dash.panels import message_box
from fx_dash.reader import _one_line

ACCURACY_WINDOW = 60
ALERTS_SHOWN = 8
DRIFTED = DOWN
STABLE = "#8c959f"
BAND = "rgba(9, 105, 218, 0.15)"


@dataclass
class Monitoring:
    """What the panel shows; ``message`` set means the warehouse could not be read."""

    drift: pd.DataFrame = field(default_factory=pd.DataFrame)
    performance: pd.DataFrame = field(default_factory=pd.DataFrame)
    accuracy: pd.DataFrame = field(default_factory=pd.DataFrame)
    newest_bar: date | None = None
    alerts: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None


def load_monitoring(url: str) -> Monitoring:
    """Read the panel's data; never raises for a missing or unreachable warehouse."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return Monitoring()
    try:
        wh = Warehouse.cached(url, read_only=True)
        drift = newest_rows(wh, DRIFT)
        performance = newest_rows(wh, PERFORMANCE)
        newest_bar = wh.date_range(RAW)[1] if wh.has(RAW) else None
        accuracy = pd.DataFrame()
        if wh.has(FINAL) and wh.has(PREDICTIONS):
            predictions = wh.read(PREDICTIONS)
            if len(predictions):
                final = wh.read(
                    FINAL,
                    start=predictions["feature_date"].min().date(),
                    columns=["date", "target"],
                )
                done = resolve(predictions, final)
                if len(done):
                    accuracy = rolling_accuracy(done, ACCURACY_WINDOW)
        alerts = newest_alerts(wh.engine, ALERTS_SHOWN)
    except sa.exc.SQLAlchemyError as exc:
        return Monitoring(
            message=f"Warehouse unreachable ({redact_url(url)}): {_one_line(exc, url)}."
        )
    return Monitoring(drift, performance, accuracy, newest_bar, alerts)


def psi_figure(drift: pd.DataFrame) -> Figure:
    """KS distance per feature, drifted ones in red, each with a mark at its own threshold
    (``eur_usd_drift.ks_threshold``, from the training rows' own past windows; rows of
    older releases have none, so no mark). A feature drifted by the range rule is red
    below its mark: its hover text says why."""
    rows = drift.sort_values("ks_stat")
    names = [str(f) for f in rows["feature"]]
    limits = pd.to_numeric(rows.get("ks_threshold", pd.Series(index=rows.index, dtype=float)))
    reasons = rows["reason"] if "reason" in rows else pd.Series("", index=rows.index)
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": "KS distance",
                "x": _numbers(rows["ks_stat"], 4),
                "y": names,
                "text": [str(r) if isinstance(r, str) else "" for r in reasons],
                "hoverinfo": "text",
                "textposition": "none",
                "marker": {"color": [DRIFTED if bool(d) else STABLE for d in rows["drifted"]]},
            },
            {
                "type": "scatter",
                "mode": "markers",
                "name": "its threshold",
                "x": _numbers(limits, 4),
                "y": names,
                "marker": {"symbol": "line-ns", "size": 14, "line": {"width": 2, "color": DRIFTED}},
            },
        ],
        "layout": _layout(
            hovermode="closest",
            xaxis=_axis(title={"text": "KS distance (newest window against the training rows)"}),
            yaxis=_axis(),
        ),
    }


def accuracy_figure(accuracy: pd.DataFrame) -> Figure:
    """Trailing accuracy with its 95 % exact binomial band and the always-up line."""
    x = _dates(accuracy["feature_date"])
    line = {"type": "scatter", "mode": "lines", "x": x}
    return {
        "data": [
            {
                **line,
                "name": "95% band",
                "y": _numbers(accuracy["ci_low"], 4),
                "line": {"width": 0},
                "showlegend": False,
                "hoverinfo": "skip",
            },
            {
                **line,
                "name": "95% band",
                "y": _numbers(accuracy["ci_high"], 4),
                "line": {"width": 0},
                "fill": "tonexty",
                "fillcolor": BAND,
            },
            {
                **line,
                "name": f"model, last {ACCURACY_WINDOW}",
                "y": _numbers(accuracy["accuracy"], 4),
                "line": {"color": MODEL, "width": 2},
            },
            {
                **line,
                "name": "always up, same days",
                "y": _numbers(accuracy["baseline_accuracy"], 4),
                "line": {"color": BASELINE, "width": 1.5, "dash": "dot"},
            },
        ],
        "layout": _layout(
            xaxis=_axis(type="date", title={"text": "feature date"}),
            yaxis=_axis(tickformat=".0%", range=[0, 1]),
        ),
    }


def _pct(value: Any) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.1%}"


def _freshness(newest_bar: date | None, today: date) -> html.Div:
    if newest_bar is None:
        return html.Div("Data freshness: no bars stored yet.", id="monitoring-freshness")
    age = (today - newest_bar).days
    return html.Div(
        f"Data freshness: newest bar {newest_bar:%Y-%m-%d}, {age} day(s) old.",
        id="monitoring-freshness",
    )


def _verdict(row: dict[str, Any]) -> str:
    """The stored verdict; rows of older releases have none, so it is worded here."""
    text = row.get("verdict")
    return text if isinstance(text, str) else performance_verdict(row)


def _share_table(performance: pd.DataFrame) -> html.Table:
    head = ["window", "up calls", "in training", "mean p(up)", "in training", "drifted"]
    rows = [html.Tr([html.Th(h) for h in head])]
    for r in performance.to_dict("records"):
        rows.append(
            html.Tr(
                [
                    html.Td(str(r["window"])),
                    html.Td(_pct(r.get("up_share"))),
                    html.Td(_pct(r.get("train_up_share"))),
                    html.Td(_pct(r.get("mean_probability_up"))),
                    html.Td(_pct(r.get("train_mean_probability_up"))),
                    html.Td("yes" if r.get("prediction_drifted") else "no"),
                ]
            )
        )
    return html.Table(rows, id="monitoring-shares", className="versions")


def _alerts(alerts: list[dict[str, Any]]) -> html.Div:
    if not alerts:
        return html.Div("No alert sent yet.", id="monitoring-alerts", className="detail")
    items = [
        html.Li(
            f"{pd.Timestamp(a['created_at']):%Y-%m-%d %H:%M} {a['severity']} via {a['channel']}: "
            f"{a['title']}" + ("" if a.get("delivered_at") else " (not delivered yet)")
        )
        for a in alerts
    ]
    return html.Ul(items, id="monitoring-alerts")


def monitoring_panel(data: Monitoring, today: date | None = None) -> list[Any]:
    """The panel's children; each part has its own empty state."""
    if data.message:
        return [message_box(data.message, problem=True)]
    today = today or datetime.now(UTC).date()
    out: list[Any] = [_freshness(data.newest_bar, today)]
    if data.drift.empty:
        out.append(
            message_box("No drift measured yet: monitoring runs after the predictions (fx run).")
        )
    else:
        end = pd.Timestamp(data.drift["window_end"].iloc[0])
        out += [
            html.Div(
                f"Feature drift, window ending {end:%Y-%m-%d}: {drift_verdict(data.drift)}",
                id="monitoring-drifted",
                className="card-title",
            ),
            html.Div(
                "A feature drifts when most of its newest window lies outside the training"
                " rows' range, or when its KS distance passes its own threshold (the red"
                " mark: what the training rows' own past windows reached 99 % of the time"
                " against the rows before them). Hover a bar for its reason.",
                className="detail",
            ),
            dcc.Graph(id="psi-chart", figure=psi_figure(data.drift),
                      config={"displaylogo": False}, style={"height": "420px"}),
        ]  # fmt: skip
    if data.accuracy.empty:
        out.append(message_box("No resolved prediction yet: accuracy appears once outcomes do."))
    else:
        out += [
            html.Div("Realized accuracy", className="card-title"),
            dcc.Graph(id="monitoring-accuracy-chart", figure=accuracy_figure(data.accuracy),
                      config={"displaylogo": False}, style={"height": "340px"}),
        ]  # fmt: skip
    if not data.performance.empty:
        out += [
            html.Div(
                [
                    html.Div(f"last {r['window']}: {_verdict(r)}")
                    for r in data.performance.to_dict("records")
                ],
                id="monitoring-verdicts",
                className="detail",
            ),
            html.Div("Prediction drift", className="card-title"),
            _share_table(data.performance),
        ]
    out += [html.Div("Newest alerts", className="card-title"), _alerts(data.alerts)]
    return out
