"""The monitoring panel: feature drift, prediction drift, freshness, alerts.

Read-only like the rest of the page (through the read model), and filled by its own
callback, so a monitoring table that does not exist yet (no monitoring run so far) shows
an empty state, never an error. Realized accuracy is the page's accuracy chart, not
drawn twice. The figures are plain Plotly dicts, as in ``fx_dash.figures``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from dash import dcc, html

from fx_assets.core.evaluation.figures import BASELINE
from fx_assets.core.monitoring.verdicts import drift_verdict, performance_verdict
from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.readmodel.data import newest_bar
from fx_assets.core.readmodel.monitoring import ALERTS_SHOWN, Monitoring, read_monitoring
from fx_assets.core.readmodel.stores import missing_file, open_warehouse, unreachable_message
from fx_dash.figures import DOWN, GRAPH_CONFIG, Figure, axis, layout, numbers
from fx_dash.panels import message_box, pct

DRIFTED = DOWN
STABLE = BASELINE


@dataclass
class MonitoringPanel:
    """What the panel shows; ``message`` set means the warehouse could not be read."""

    found: Monitoring = field(default_factory=Monitoring)
    newest_bar: date | None = None
    message: str | None = None


def load_monitoring(url: str, pair: str = DEFAULT_PAIR) -> MonitoringPanel:
    """Read ``pair``'s panel data; never raises for a missing or unreachable warehouse."""
    if missing_file(url) is not None:
        return MonitoringPanel()
    try:
        wh = open_warehouse(url)
        found = read_monitoring(wh, alerts=ALERTS_SHOWN, pair=pair)
        return MonitoringPanel(found, newest_bar(wh, pair=pair))
    except sa.exc.SQLAlchemyError as exc:
        return MonitoringPanel(message=f"{unreachable_message(exc, url)}.")


def psi_figure(drift: pd.DataFrame) -> Figure:
    """KS distance per feature, drifted ones in red, each with a mark at its own threshold
    (``fx_drift.ks_threshold``, from the training rows' own past windows; rows of
    older releases have none, so no mark). A feature drifted by the range rule is red
    below its mark: its hover text says why."""
    rows = drift.sort_values("ks_stat")
    names = [str(f) for f in rows["feature"]]
    limits = pd.to_numeric(rows["ks_threshold"])
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "name": "KS distance",
                "x": numbers(rows["ks_stat"], 4),
                "y": names,
                "text": [r if isinstance(r, str) else "" for r in rows["reason"]],
                "hoverinfo": "text",
                "textposition": "none",
                "marker": {"color": [DRIFTED if bool(d) else STABLE for d in rows["drifted"]]},
            },
            {
                "type": "scatter",
                "mode": "markers",
                "name": "its threshold",
                "x": numbers(limits, 4),
                "y": names,
                "marker": {"symbol": "line-ns", "size": 14, "line": {"width": 2, "color": DRIFTED}},
            },
        ],
        "layout": layout(
            hovermode="closest",
            xaxis=axis(title={"text": "KS distance (newest window against the training rows)"}),
            yaxis=axis(),
        ),
    }


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
                    html.Td(pct(r.get("up_share"))),
                    html.Td(pct(r.get("train_up_share"))),
                    html.Td(pct(r.get("mean_probability_up"))),
                    html.Td(pct(r.get("train_mean_probability_up"))),
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


def monitoring_panel(data: MonitoringPanel, today: date | None = None) -> list[Any]:
    """The panel's children; each part has its own empty state."""
    if data.message:
        return [message_box(data.message, problem=True)]
    today = today or datetime.now(UTC).date()
    out: list[Any] = [_freshness(data.newest_bar, today)]
    drift, performance = data.found.drift, data.found.performance
    if drift.empty:
        out.append(
            message_box("No drift measured yet: monitoring runs after the predictions (fx run).")
        )
    else:
        end = pd.Timestamp(drift["window_end"].iloc[0])
        out += [
            html.Div(
                f"Feature drift, window ending {end:%Y-%m-%d}: {drift_verdict(drift)}",
                id="monitoring-drifted",
                className="card-title",
            ),
            html.Div(
                "A feature drifts when most of its newest window lies outside the training"
                " rows' range, or when its KS distance passes its own threshold (the red"
                " mark: what the training rows' own past windows reached against the rows"
                " before them, at the stated false-alarm rate). Hover a bar for its reason.",
                className="detail",
            ),
            dcc.Graph(id="psi-chart", figure=psi_figure(drift),
                      config=GRAPH_CONFIG, style={"height": "420px"}),
        ]  # fmt: skip
    if not performance.empty:
        out += [
            html.Div(
                [
                    html.Div(f"last {r['window']}: {_verdict(r)}")
                    for r in performance.to_dict("records")
                ],
                id="monitoring-verdicts",
                className="detail",
            ),
            html.Div("Prediction drift", className="card-title"),
            _share_table(performance),
        ]
    out += [html.Div("Newest alerts", className="card-title"), _alerts(data.found.alerts)]
    return out
