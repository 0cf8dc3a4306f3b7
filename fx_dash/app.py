"""The dashboard: ``fx dash`` serves it; gunicorn serves ``fx_dash.app:server``.

Two pages under one URL scheme, so a page can be shared: ``/`` is the book overview (one
sortable row per pair of ``FX_PAIRS``), ``/pair/GBPUSD`` a pair's detail page, every
chart and table on it that pair's (``fx_dash.book`` and the panels below). The page is
built by a callback on the URL, so each visit reads the warehouse afresh with the
settings of that moment (importing the module only starts a background warm-up of the
MLflow client). An interval re-reads while the page stays open. The model panel fills in
through its own callback, so a slow or unreachable registry never holds up the rest.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from typing import Any

from dash import Dash, Input, Output, State, ctx, dcc, html
from dash.exceptions import PreventUpdate

from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.readmodel.book import Book
from fx_assets.core.readmodel.registry import ModelHistory, RegistryReader, model_history
from fx_assets.core.settings import load_settings
from fx_dash.book import Overview, load_overview, overview_panel
from fx_dash.compression import compressing_server
from fx_dash.layout import (
    DEFAULT_REFRESH_SECONDS,
    failure,
    page,
    refresh_seconds,
    route,
    serve_layout,
    snapshot_of,
    warehouse_views,
)
from fx_dash.monitoring import load_monitoring, monitoring_panel
from fx_dash.panels import message_box, model_panel, page_count, table_page, table_records
from fx_dash.reader import DEFAULT_RANGE, Snapshot
from fx_dash.skill import load_skill, skill_panel
from fx_dash.style import INDEX_STRING

# The registry changes when training runs (weekly); a page load may show a read this old.
REGISTRY_MAX_AGE_S = 30.0
# An unreachable tracking server must not hold the model panel for MLflow's default minutes
# of retries; the panel says so and the next refresh tries again. MLflow reads these only
# from the environment, per request, so the page's process sets them at start (unless the
# environment does); the read model itself sets none.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}


def create_app() -> Dash:
    refresh_seconds()  # a bad setting fails at start, not on the first page view
    for key, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)
    app = Dash(
        __name__,
        server=compressing_server(__name__),
        title="fx book forecasts",
        update_title=None,
        compress=True,
        serve_locally=True,
    )
    app.index_string = INDEX_STRING
    # Set first, or assigning a layout function calls it (reading the warehouse) at import
    # and ships that snapshot inside every page as the validation layout.
    app.validation_layout = html.Div(
        [
            serve_layout(),
            page(Snapshot(message="validation"), DEFAULT_REFRESH_SECONDS),
            html.Div(overview_panel(Overview(Book())), id="book-panel"),
            dcc.Interval(id="book-refresh"),
        ]
    )
    app.layout = serve_layout

    @app.callback(Output("page-content", "children"), Input("url", "pathname"))
    def show_page(pathname: str | None) -> html.Div:
        return route(pathname)

    @app.callback(
        Output("url", "pathname"),
        Input("book-table", "active_cell"),
        prevent_initial_call=True,
    )
    def open_pair(cell: dict[str, Any] | None) -> str:
        # row_id is the pair whatever the sort order (the rows carry it as "id").
        if not cell or not cell.get("row_id"):
            raise PreventUpdate
        return app.get_relative_path(f"/pair/{cell['row_id']}")

    @app.callback(
        Output("book-panel", "children"),
        Input("book-refresh", "n_intervals"),
        prevent_initial_call=True,
    )
    def refresh_book(_n: int | None) -> list[Any]:
        try:
            return overview_panel(load_overview(load_settings()))
        except Exception as exc:
            return [message_box(failure(exc).message or "", problem=True)]

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
        State("pair", "data"),
        prevent_initial_call=True,
    )
    def refresh_warehouse(
        _n: int | None, range_key: str, overlay: list[str], pair: str | None
    ) -> tuple[Any, ...]:
        snapshot = snapshot_of(range_key or DEFAULT_RANGE, pair=pair or DEFAULT_PAIR)
        return warehouse_views(snapshot, "show" in (overlay or []), refresh_seconds())

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
        State("pair", "data"),
        prevent_initial_call=True,
    )
    def show_table(
        page: int | None, _n: int | None, pair: str | None
    ) -> tuple[list[Any], str, int]:
        snapshot = snapshot_of(DEFAULT_RANGE, prices=False, pair=pair or DEFAULT_PAIR)
        records = [] if snapshot.message else table_records(snapshot.predictions)
        rows, _, label = table_page(records, int(page or 0))
        return rows, label, page_count(records)

    @app.callback(
        Output("model-panel", "children"), Input("refresh", "n_intervals"), State("pair", "data")
    )
    def refresh_model(n: int | None, pair: str | None) -> list[Any]:
        try:
            # A page load may use the last read if it is fresh; a refresh tick reads again.
            max_age = REGISTRY_MAX_AGE_S if n is None else 0
            panel = _registry_panel(max_age=max_age, pair=pair or DEFAULT_PAIR)
            return model_panel(panel)
        except Exception as exc:
            return [message_box(failure(exc).message or "", problem=True)]

    @app.callback(
        Output("skill-panel", "children"), Input("refresh", "n_intervals"), State("pair", "data")
    )
    def refresh_skill(_n: int | None, pair: str | None) -> list[Any]:
        try:
            settings = load_settings()
            cost = settings.backtest_cost_pips
            found = load_skill(settings.warehouse_url, cost_pips=cost, pair=pair or DEFAULT_PAIR)
            return skill_panel(found)
        except Exception as exc:
            return [message_box(failure(exc).message or "", problem=True)]

    @app.callback(
        Output("monitoring-panel", "children"),
        Input("refresh", "n_intervals"),
        State("pair", "data"),
    )
    def refresh_monitoring(_n: int | None, pair: str | None) -> list[Any]:
        try:
            url = load_settings().warehouse_url
            return monitoring_panel(load_monitoring(url, pair or DEFAULT_PAIR))
        except Exception as exc:
            return [message_box(failure(exc).message or "", problem=True)]

    # Importing MLflow and opening its store take seconds: do it now, not on the first view.
    warm = threading.Thread(target=_warm_registry, daemon=True)
    warm.start()
    # A process that exits while the warm-up is still importing C extensions (pyarrow,
    # grpc) aborts in the interpreter's shutdown ("exception not rethrown"): wait for it.
    atexit.register(warm.join, 60)
    return app


_last_panel: dict[tuple[str, str], tuple[float, ModelHistory]] = {}


def _registry_panel(max_age: float, pair: str = DEFAULT_PAIR) -> ModelHistory:
    """``pair``'s model panel data, read again unless the last read is under ``max_age`` s
    old."""
    uri = load_settings().mlflow_tracking_uri
    read_at, panel = _last_panel.get((uri, pair), (0.0, None))
    if panel is None or time.monotonic() - read_at > max_age:
        panel = model_history(RegistryReader(uri), pair=pair)
        _last_panel[(uri, pair)] = (time.monotonic(), panel)
    return panel


def _warm_registry() -> None:
    _registry_panel(max_age=0)


app = create_app()
server = app.server
