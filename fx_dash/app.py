"""The dashboard: ``fx dash`` serves it; gunicorn serves ``fx_dash.app:server``.

The layout is a function, so each page load reads the warehouse afresh, with the
settings of that moment (importing the module only starts a background warm-up of the
MLflow client). An interval re-reads while the page stays open. The model panel fills in
through its own callback, so a slow or unreachable registry never holds up the rest.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from dash import Dash, Input, Output, State, ctx, dcc, html

from fx_assets.core.readmodel.accuracy import ROLLING_WINDOW, rolling_accuracy
from fx_assets.core.readmodel.registry import ModelHistory, RegistryReader, model_history
from fx_assets.core.settings import Settings, load_settings
from fx_dash.compression import compressing_server
from fx_dash.figures import GRAPH_CONFIG, empty_figure, price_figure, rolling_accuracy_figure
from fx_dash.monitoring import load_monitoring, monitoring_panel
from fx_dash.panels import (
    NOTHING_TO_SHOW,
    accuracy_panel,
    forecast_panel,
    message_box,
    model_panel,
    page_count,
    pager,
    table_note,
    table_page,
    table_records,
    updated_text,
)
from fx_dash.quality import data_status
from fx_dash.reader import DEFAULT_RANGE, RANGES, Snapshot, load_snapshot
from fx_dash.skill import load_skill, skill_panel
from fx_dash.style import INDEX_STRING

log = logging.getLogger(__name__)

DEFAULT_REFRESH_SECONDS = int(Settings.model_fields["dash_refresh_seconds"].default)
# The registry changes when training runs (weekly); a page load may show a read this old.
REGISTRY_MAX_AGE_S = 30.0
# An unreachable tracking server must not hold the model panel for MLflow's default minutes
# of retries; the panel says so and the next refresh tries again. MLflow reads these only
# from the environment, per request, so the page's process sets them at start (unless the
# environment does); the read model itself sets none.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}


def refresh_seconds() -> int:
    """``FX_DASH_REFRESH_SECONDS``: how often the open page re-reads; 0 turns it off."""
    return load_settings().dash_refresh_seconds


def _status(snapshot: Snapshot) -> list[Any]:
    if snapshot.message:
        return [message_box(snapshot.message, problem=snapshot.problem)]
    return [message_box(snapshot.first_start)] if snapshot.first_start else []


def _failure(exc: Exception) -> Snapshot:
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


def _warehouse_views(snapshot: Snapshot, overlay: bool, every: int) -> tuple[Any, ...]:
    """Everything drawn from one warehouse snapshot, in the callback's output order."""
    try:
        return _build_views(snapshot, overlay, every)
    except Exception as exc:
        return _build_views(_failure(exc), overlay, every)


def _build_views(snapshot: Snapshot, overlay: bool, every: int) -> tuple[Any, ...]:
    if snapshot.message:
        prices = rolling = empty_figure(NOTHING_TO_SHOW)
    else:
        prices = price_figure(snapshot.prices, snapshot.predictions if overlay else None)
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


def _card(title: str, *children: Any, cls: str = "") -> html.Section:
    return html.Section([html.H2(title), *children], className=f"card {cls}".strip())


def page(snapshot: Snapshot, every: int) -> html.Div:
    """The whole page, its warehouse panels filled from ``snapshot``."""
    (status, forecast, accuracy, prices, rolling, note, updated) = _warehouse_views(
        snapshot, overlay=True, every=every
    )
    records = table_records(snapshot.predictions)
    rows, first_page, label = table_page(records, 0)
    return html.Div(
        [
            html.Header(
                [
                    html.H1("EUR/USD next-day direction"),
                    html.Div(updated, id="updated", className="detail"),
                ]
            ),
            html.Div(status, id="status"),
            html.Div(
                [
                    _card("Next-day forecast", html.Div(forecast, id="forecast"), cls="narrow"),
                    _card(
                        "Directional accuracy (resolved predictions)",
                        html.Div(accuracy, id="accuracy"),
                        cls="wide",
                    ),
                ],
                className="row",
            ),
            _card(
                "EUR/USD",
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
                    _card(
                        "Past predictions against outcomes",
                        html.Div(note, id="table-note", className="detail"),
                        html.Table(rows, id="predictions-table", className="predictions"),
                        pager(label),
                        dcc.Store(id="table-page", data=first_page),
                        dcc.Store(id="table-pages", data=page_count(records)),
                        cls="half",
                    ),
                    _card(
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
            _card(
                "Is there skill?", html.Div(id="skill-panel", children=[message_box("Loading…")])
            ),
            _card("Model", html.Div(id="model-panel", children=[message_box("Loading…")])),
            _card(
                "Monitoring",
                html.Div(id="monitoring-panel", children=[message_box("Loading…")]),
            ),
            dcc.Interval(id="refresh", interval=max(every, 1) * 1000, disabled=every == 0),
        ],
        className="page",
    )


def _snapshot(range_key: str, *, prices: bool = True) -> Snapshot:
    try:
        return load_snapshot(load_settings().warehouse_url, range_key, prices=prices)
    except Exception as exc:
        return _failure(exc)


def serve_layout() -> html.Div:
    """Each page load reads the warehouse afresh."""
    return page(_snapshot(DEFAULT_RANGE), refresh_seconds())


def create_app() -> Dash:
    refresh_seconds()  # a bad setting fails at start, not on the first page view
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)
    app = Dash(
        __name__,
        server=compressing_server(__name__),
        title="EUR/USD forecast",
        update_title=None,
        compress=True,
        serve_locally=True,
    )
    app.index_string = INDEX_STRING
    # Set first, or assigning a layout function calls it (reading the warehouse) at import
    # and ships that snapshot inside every page as the validation layout.
    app.validation_layout = page(Snapshot(message="validation"), DEFAULT_REFRESH_SECONDS)
    app.layout = serve_layout

    @app.callback(
        Output("status", "children"),
        Output("forecast", "children"),
        Output("accuracy", "children"),
        Output("price-chart", "figure"),
        Output("rolling-chart", "figure"),
        Output("table-note", "children"),
        Output("updated", "children"),
        Input("refresh", "n_intervals"),
        Input("range", "value"),
        Input("overlay", "value"),
        prevent_initial_call=True,
    )
    def refresh_warehouse(_n: int | None, range_key: str, overlay: list[str]) -> tuple[Any, ...]:
        snapshot = _snapshot(range_key or DEFAULT_RANGE)
        return _warehouse_views(snapshot, "show" in (overlay or []), refresh_seconds())

    # Paging and refreshing are two callbacks: Dash drops a callback's pending result when
    # the same callback fires again, so a click sharing one with the refresh tick was lost
    # whenever the tick came while the click's request was in flight.
    @app.callback(
        Output("table-page", "data"),
        Input("page-newest", "n_clicks"),
        Input("page-newer", "n_clicks"),
        Input("page-older", "n_clicks"),
        Input("page-oldest", "n_clicks"),
        State("table-page", "data"),
        State("table-pages", "data"),
        prevent_initial_call=True,
    )
    def turn_page(*args: Any) -> int:
        page, pages = int(args[-2] or 0), int(args[-1] or 1)
        page = {
            "page-newest": 0,
            "page-newer": page - 1,
            "page-older": page + 1,
            "page-oldest": pages - 1,
        }.get(str(ctx.triggered_id), page)
        return min(max(page, 0), pages - 1)

    @app.callback(
        Output("predictions-table", "children"),
        Output("page-label", "children"),
        Output("table-pages", "data"),
        Input("table-page", "data"),
        Input("refresh", "n_intervals"),
        prevent_initial_call=True,
    )
    def show_table(page: int | None, _n: int | None) -> tuple[list[Any], str, int]:
        snapshot = _snapshot(DEFAULT_RANGE, prices=False)
        records = [] if snapshot.message else table_records(snapshot.predictions)
        rows, _, label = table_page(records, int(page or 0))
        return rows, label, page_count(records)

    @app.callback(Output("model-panel", "children"), Input("refresh", "n_intervals"))
    def refresh_model(n: int | None) -> list[Any]:
        try:
            # A page load may use the last read if it is fresh; a refresh tick reads again.
            panel = _registry_panel(max_age=REGISTRY_MAX_AGE_S if n is None else 0)
            return model_panel(panel)
        except Exception as exc:
            return [message_box(_failure(exc).message or "", problem=True)]

    @app.callback(Output("skill-panel", "children"), Input("refresh", "n_intervals"))
    def refresh_skill(_n: int | None) -> list[Any]:
        try:
            settings = load_settings()
            return skill_panel(
                load_skill(settings.warehouse_url, cost_pips=settings.backtest_cost_pips)
            )
        except Exception as exc:
            return [message_box(_failure(exc).message or "", problem=True)]

    @app.callback(Output("monitoring-panel", "children"), Input("refresh", "n_intervals"))
    def refresh_monitoring(_n: int | None) -> list[Any]:
        try:
            return monitoring_panel(load_monitoring(load_settings().warehouse_url))
        except Exception as exc:
            return [message_box(_failure(exc).message or "", problem=True)]

    # Importing MLflow and opening its store take seconds: do it now, not on the first view.
    warm = threading.Thread(target=_warm_registry, daemon=True)
    warm.start()
    # A process that exits while the warm-up is still importing C extensions (pyarrow,
    # grpc) aborts in the interpreter's shutdown ("exception not rethrown"): wait for it.
    atexit.register(warm.join, 60)
    return app


_last_panel: dict[str, tuple[float, ModelHistory]] = {}


def _registry_panel(max_age: float) -> ModelHistory:
    """The model panel's data, read again unless the last read is under ``max_age`` s old."""
    uri = load_settings().mlflow_tracking_uri
    read_at, panel = _last_panel.get(uri, (0.0, None))
    if panel is None or time.monotonic() - read_at > max_age:
        panel = model_history(RegistryReader(uri))
        _last_panel[uri] = (time.monotonic(), panel)
    return panel


def _warm_registry() -> None:
    _registry_panel(max_age=0)


app = create_app()
server = app.server
