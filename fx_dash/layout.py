"""The dashboard's pages: the book overview and a pair's detail page, and the URL that
names each (``/`` and ``/pair/<PAIR>``, under the app's prefix).

Each is built when its URL is visited, so it reads the warehouse afresh with the settings
of that moment; ``fx_dash.app`` wires the callbacks that refresh their parts.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from dash import dcc, get_relative_path, html, strip_relative_path

from fx_assets.core.pairs import DEFAULT_PAIR, Pair, PairError
from fx_assets.core.readmodel.accuracy import ROLLING_WINDOW, rolling_accuracy
from fx_assets.core.settings import Settings, load_settings
from fx_dash.book import load_overview, overview_panel
from fx_dash.figures import GRAPH_CONFIG, empty_figure, price_figure, rolling_accuracy_figure
from fx_dash.panels import (
    NOTHING_TO_SHOW,
    accuracy_panel,
    forecast_panel,
    message_box,
    page_count,
    pager,
    table_note,
    table_page,
    table_records,
    updated_text,
)
from fx_dash.quality import data_status
from fx_dash.reader import DEFAULT_RANGE, RANGES, Snapshot, load_snapshot

log = logging.getLogger("fx_dash.app")

DEFAULT_REFRESH_SECONDS = int(Settings.model_fields["dash_refresh_seconds"].default)


def refresh_seconds() -> int:
    """``FX_DASH_REFRESH_SECONDS``: how often the open page re-reads; 0 turns it off."""
    return load_settings().dash_refresh_seconds


def _status(snapshot: Snapshot) -> list[Any]:
    if snapshot.message:
        return [message_box(snapshot.message, problem=snapshot.problem)]
    return [message_box(snapshot.first_start)] if snapshot.first_start else []


def failure(exc: Exception) -> Snapshot:
    """An unexpected error: logged with its traceback under an error id, shown as a generic
    line with that id. Its text stays in the log: a driver's error can name a host, a
    user or a query, which a page anyone can open must not show."""
    error_id = uuid.uuid4().hex[:12]
    log.error("the dashboard could not build its panels (error id %s)", error_id, exc_info=exc)
    return Snapshot(
        message=f"The page could not be built (error id {error_id}); "
        "the dashboard's log has the details under that id.",
        problem=True,
    )


def warehouse_views(snapshot: Snapshot, overlay: bool, every: int) -> tuple[Any, ...]:
    """Everything drawn from one warehouse snapshot, in the callback's output order."""
    try:
        return _build_views(snapshot, overlay, every)
    except Exception as exc:
        return _build_views(failure(exc), overlay, every)


def _build_views(snapshot: Snapshot, overlay: bool, every: int) -> tuple[Any, ...]:
    if snapshot.message:
        prices = rolling = empty_figure(NOTHING_TO_SHOW)
    else:
        label = Pair.parse(snapshot.pair).label
        prices = price_figure(snapshot.prices, snapshot.predictions if overlay else None, label)
        rolling = rolling_accuracy_figure(rolling_accuracy(snapshot.predictions))
    return (
        _status(snapshot),
        # The forecast first, then how current and clean the data under it is.
        [*forecast_panel(snapshot), *data_status(snapshot, load_settings().stale_after_days)],
        accuracy_panel(snapshot),
        prices,
        rolling,
        table_note(snapshot),
        updated_text(every, datetime.now(UTC)),
    )


def card(title: str, *children: Any, cls: str = "") -> html.Section:
    return html.Section([html.H2(title), *children], className=f"card {cls}".strip())


def page(snapshot: Snapshot, every: int) -> html.Div:
    """A pair's whole page, its warehouse panels filled from ``snapshot`` (of that pair)."""
    pair_label = Pair.parse(snapshot.pair).label
    (status, forecast, accuracy, prices, rolling, note, updated) = warehouse_views(
        snapshot, overlay=True, every=every
    )
    records = table_records(snapshot.predictions)
    rows, first_page, label = table_page(records, 0)
    return html.Div(
        [
            html.Header(
                [
                    html.H1(f"{pair_label} next-day direction", id="pair-title"),
                    dcc.Link(
                        "← the book", href=get_relative_path("/"), id="to-book", className="detail"
                    ),
                    html.Div(updated, id="updated", className="detail"),
                ]
            ),
            dcc.Store(id="pair", data=snapshot.pair),
            html.Div(status, id="status"),
            html.Div(
                [
                    card("Next-day forecast", html.Div(forecast, id="forecast"), cls="narrow"),
                    card(
                        "Directional accuracy (resolved predictions)",
                        html.Div(accuracy, id="accuracy"),
                        cls="wide",
                    ),
                ],
                className="row",
            ),
            card(
                pair_label,
                html.Div(
                    [
                        dcc.RadioItems(
                            id="range",
                            options=list(RANGES),
                            value=DEFAULT_RANGE,
                            inline=True,
                            className="ranges",
                        ),
                        dcc.Checklist(
                            id="overlay",
                            options=[{"label": "predicted direction", "value": "show"}],
                            value=["show"],
                            inline=True,
                        ),
                    ],
                    className="controls",
                ),
                dcc.Graph(
                    id="price-chart", figure=prices, config=GRAPH_CONFIG, style={"height": "440px"}
                ),
            ),
            html.Div(
                [
                    card(
                        "Past predictions against outcomes",
                        html.Div(note, id="table-note", className="detail"),
                        html.Table(rows, id="predictions-table", className="predictions"),
                        pager(label),
                        dcc.Store(id="table-page", data=first_page),
                        dcc.Store(id="table-pages", data=page_count(records)),
                        cls="half",
                    ),
                    card(
                        f"Rolling accuracy: the last {ROLLING_WINDOW} resolved predictions,"
                        " with its 95 % exact band",
                        dcc.Graph(
                            id="rolling-chart",
                            figure=rolling,
                            config=GRAPH_CONFIG,
                            style={"height": "380px"},
                        ),
                        cls="half",
                    ),
                ],
                className="row",
            ),
            card("Is there skill?", html.Div(id="skill-panel", children=[message_box("Loading…")])),
            card("Model", html.Div(id="model-panel", children=[message_box("Loading…")])),
            card(
                "Monitoring",
                html.Div(id="monitoring-panel", children=[message_box("Loading…")]),
            ),
            dcc.Interval(id="refresh", interval=max(every, 1) * 1000, disabled=every == 0),
        ],
        className="page",
    )


def snapshot_of(range_key: str, *, prices: bool = True, pair: str = DEFAULT_PAIR) -> Snapshot:
    try:
        url = load_settings().warehouse_url
        return load_snapshot(url, range_key, prices=prices, pair=pair)
    except Exception as exc:
        return failure(exc)


def overview_page(every: int) -> html.Div:
    """The book: one row per pair, its headline, refreshed like the detail page."""
    try:
        panel = overview_panel(load_overview(load_settings()))
    except Exception as exc:
        panel = [message_box(failure(exc).message or "", problem=True)]
    return html.Div(
        [
            html.Header(
                [
                    html.H1("The book: next-day direction per pair"),
                    html.Div(updated_text(every, datetime.now(UTC)), className="detail"),
                ]
            ),
            card("Pairs", html.Div(panel, id="book-panel")),
            dcc.Interval(id="book-refresh", interval=max(every, 1) * 1000, disabled=every == 0),
        ],
        className="page",
    )


def route(pathname: str | None) -> html.Div:
    """The page a URL names: ``/`` the book, ``/pair/<PAIR>`` that pair's page."""
    # Under the app's prefix: behind a proxy the page may not be at /.
    path = strip_relative_path(pathname or "/") or ""
    every = refresh_seconds()
    if not path.startswith("pair/"):
        return overview_page(every)
    asked = path.removeprefix("pair/")
    book = load_settings().book
    try:
        code = Pair.parse(asked).code
    except PairError:
        code = None
    if code not in book:
        return html.Div(
            [
                message_box(
                    f"Unknown pair {asked[:16]!r}: the book is {', '.join(book)} (FX_PAIRS).",
                    problem=True,
                ),
                dcc.Link("← the book", href=get_relative_path("/")),
            ],
            className="page",
        )
    return page(snapshot_of(DEFAULT_RANGE, pair=code), every)


def serve_layout() -> html.Div:
    """The URL and the page it names, built by ``route`` once the browser says the URL."""
    return html.Div(
        [
            dcc.Location(id="url", refresh="callback-nav"),
            html.Div(id="page-content", children=[message_box("Loading…")]),
        ]
    )
