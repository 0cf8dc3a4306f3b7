"""The page's panels as Dash components, built from a Snapshot and a ModelHistory."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from dash import html

from fx_assets.core.models.ranges import describe, from_column
from fx_assets.core.models.registry import (
    TAG_BASELINE_PR_AUC,
    TAG_DECISION,
    TAG_PROMOTED_AT,
    TAG_TEST_PR_AUC,
    TAG_TRAINING_CUTOFF,
    Version,
)
from fx_assets.core.readmodel.accuracy import Accuracy, accuracy_summary
from fx_assets.core.readmodel.predictions import resolved
from fx_assets.core.readmodel.registry import ModelHistory
from fx_dash.reader import Snapshot

NOTHING_TO_SHOW = "Nothing to show: see the message at the top of the page."
TABLE_PAGE_SIZE = 10
TABLE_COLUMNS = [
    ("feature_date", "feature date"),
    ("target_date", "target date"),
    ("predicted", "predicted"),
    ("probability_up", "p(up)"),
    ("actual", "actual"),
    ("result", "correct"),
    ("model_version", "version"),
]


def direction_label(value: Any) -> str:
    if value is None or pd.isna(value):
        return "pending"
    return "up" if int(value) == 1 else "down or flat"


def pct(value: Any) -> str:
    """A share as a percentage; n/a when missing (None or NaN)."""
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.1%}"


def _day(value: Any) -> str:
    return f"{pd.Timestamp(value):%a %Y-%m-%d}"


def message_box(text: str, *, problem: bool = False) -> html.Div:
    return html.Div(text, className="message problem" if problem else "message")


def forecast_panel(snapshot: Snapshot) -> list[Any]:
    if snapshot.message:
        return [message_box(NOTHING_TO_SHOW)]
    # The joined predictions are oldest first: the last is the forecast for the next day.
    row = None if snapshot.predictions.empty else snapshot.predictions.iloc[-1]
    if row is None:
        return [
            message_box(
                "No forecast yet: predictions appear once a champion model is promoted "
                "and the prediction run has scored the newest features (`fx run`)."
            )
        ]
    up = int(row["direction"]) == 1
    children: list[Any] = [
        html.Div(f"Forecast for {_day(row['target_date'])}", className="forecast-target"),
        html.Div(
            [
                html.Span("UP" if up else "DOWN OR FLAT", className="up" if up else "down"),
                html.Span(f" · p(up) {row['probability_up']:.1%}", className="probability"),
            ],
            id="forecast-direction",
            className="forecast-direction",
        ),
        html.Div(
            f"made from feature date {pd.Timestamp(row['feature_date']):%Y-%m-%d} by "
            f"{row['model_name']} version {row['model_version']}, "
            f"at {pd.Timestamp(row['predicted_at']):%Y-%m-%d %H:%M} UTC",
            className="detail",
        ),
    ]
    unseen = describe(from_column(row.get("out_of_range")))
    if unseen:
        children.append(
            message_box(f"Inputs the model never saw: {unseen}: treat with caution.", problem=True)
        )
    newest = snapshot.newest_final
    if newest is not None and pd.Timestamp(newest) > pd.Timestamp(row["feature_date"]):
        children.append(
            message_box(
                f"Features exist up to {newest:%Y-%m-%d}, newer than this forecast: "
                "the next prediction run will add it."
            )
        )
    return children


def _accuracy_card(acc: Accuracy) -> html.Div:
    title = acc.label.capitalize()
    if acc.n == 0:
        body: list[Any] = [html.Div("n/a", className="big"), html.Div("n = 0", className="n")]
    else:
        body = [
            html.Div(pct(acc.accuracy), className="big"),
            html.Div(
                f"95 % CI {pct(acc.ci_low)}..{pct(acc.ci_high)} (exact)"
                if acc.ci_low is not None
                else "95 % CI n/a",
                className="interval",
            ),
            html.Div(f"n = {acc.n} ({acc.hits} right)", className="n"),
            html.Div(
                f"always up: {pct(acc.baseline_accuracy)} "
                f"({acc.baseline_hits} of the same {acc.n} days)",
                className="baseline",
            ),
            html.Div(f"{acc.first:%Y-%m-%d} to {acc.last:%Y-%m-%d}", className="detail"),
        ]
        if not acc.complete:
            body.append(
                html.Div(f"only {acc.n} of {acc.window} resolved so far", className="detail")
            )
    return html.Div([html.Div(title, className="card-title"), *body], className="stat")


def accuracy_panel(snapshot: Snapshot) -> list[Any]:
    if snapshot.message:
        return [message_box(NOTHING_TO_SHOW)]
    if resolved(snapshot.predictions).empty:
        pending = len(snapshot.predictions)
        return [
            message_box(
                "No prediction resolved yet: an outcome is known once the target day's close "
                f"is ingested ({pending} prediction{'s' if pending != 1 else ''} pending)."
            )
        ]
    return [
        html.Div(
            [_accuracy_card(a) for a in accuracy_summary(snapshot.predictions)], className="stats"
        )
    ]


def table_records(joined: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows for the predictions table, newest first."""
    records = []
    for row in joined.iloc[::-1].itertuples(index=False):
        correct = row.correct
        result = "pending" if pd.isna(correct) else ("correct" if correct else "wrong")
        records.append(
            {
                "feature_date": f"{row.feature_date:%Y-%m-%d}",
                "target_date": f"{row.target_date:%Y-%m-%d}",
                "predicted": direction_label(row.direction),
                "probability_up": f"{row.probability_up:.1%}",
                "actual": direction_label(row.actual),
                "result": result,
                "model_version": str(row.model_version),
            }
        )
    return records


def page_count(records: list[dict[str, Any]]) -> int:
    """Pages of the predictions table; an empty table still has its one (empty) page."""
    return max(1, -(-len(records) // TABLE_PAGE_SIZE))


def table_page(records: list[dict[str, Any]], page: int) -> tuple[list[Any], int, str]:
    """One page of the predictions table (0 is the newest): rows, the page shown, its label.

    A plain HTML table: the page is rendered on the server, so the browser loads no
    data-grid bundle for it.
    """
    pages = page_count(records)
    page = min(max(page, 0), pages - 1)
    shown = records[page * TABLE_PAGE_SIZE : (page + 1) * TABLE_PAGE_SIZE]
    header = html.Thead(html.Tr([html.Th(name) for _, name in TABLE_COLUMNS]))
    body = html.Tbody(
        [
            html.Tr(
                [html.Td(r[key], className=f"col-{key}") for key, _ in TABLE_COLUMNS],
                className=r["result"],
            )
            for r in shown
        ]
    )
    return [header, body], page, f"page {page + 1} of {pages}"


def pager(label: str) -> html.Div:
    return html.Div(
        [
            html.Button("« newest", id="page-newest", className="pager"),
            html.Button("newer", id="page-newer", className="pager"),
            html.Span(label, id="page-label", className="detail"),
            html.Button("older", id="page-older", className="pager"),
            html.Button("oldest »", id="page-oldest", className="pager"),
        ],
        className="pagers",
    )


def table_note(snapshot: Snapshot) -> str:
    if snapshot.message:
        return NOTHING_TO_SHOW
    n = len(snapshot.predictions)
    if n == 0:
        return "No predictions yet."
    done = len(resolved(snapshot.predictions))
    return f"{n} predictions, {done} resolved, newest first."


def _fmt_score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _versions_table(versions: list[Version]) -> html.Table:
    header = html.Tr(
        [
            html.Th(h)
            for h in ("version", "lifecycle", "aliases", "registered", "training cutoff", "PR-AUC")
        ]
    )
    rows = [
        html.Tr(
            [
                html.Td(v.version),
                html.Td(v.lifecycle or "untagged", className=f"lifecycle {v.lifecycle or ''}"),
                html.Td(", ".join(v.aliases) or "—"),
                html.Td(f"{v.created_at:%Y-%m-%d %H:%M}" if v.created_at else "—"),
                html.Td(v.tags.get(TAG_TRAINING_CUTOFF) or "—"),
                html.Td(_fmt_score(v.number(TAG_TEST_PR_AUC))),
            ]
        )
        for v in versions
    ]
    return html.Table([html.Thead(header), html.Tbody(rows)], className="versions")


def model_panel(panel: ModelHistory) -> list[Any]:
    children: list[Any] = []
    if panel.message:
        children.append(message_box(panel.message, problem=panel.problem))
    champ = panel.champion
    if champ is not None:
        challenger = panel.challenger
        items = [
            ("champion", f"{panel.name} version {champ.version}"),
            ("training cutoff", champ.tags.get(TAG_TRAINING_CUTOFF) or "not recorded"),
            (
                "test PR-AUC",
                f"{_fmt_score(champ.number(TAG_TEST_PR_AUC))} "
                f"(always-up baseline {_fmt_score(champ.number(TAG_BASELINE_PR_AUC))})",
            ),
            ("promoted", champ.tags.get(TAG_PROMOTED_AT) or "not recorded"),
            ("why", champ.tags.get(TAG_DECISION) or "not recorded"),
            (
                "challenger",
                f"version {challenger.version} ({challenger.lifecycle or 'untagged'})"
                if challenger and challenger.version != champ.version
                else "none besides the champion",
            ),
        ]
        children.append(
            html.Dl(
                [part for key, value in items for part in (html.Dt(key), html.Dd(value))],
                id="champion",
                className="champion",
            )
        )
    if panel.versions:
        children.append(html.Div("Recent versions", className="card-title"))
        children.append(_versions_table(panel.versions))
    return children


def updated_text(refresh_seconds: int, when: datetime) -> str:
    every = f"refreshes every {refresh_seconds} s" if refresh_seconds else "auto-refresh off"
    return f"updated {when:%Y-%m-%d %H:%M:%S} UTC · {every}"
