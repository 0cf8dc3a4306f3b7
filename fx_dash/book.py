"""The book overview: one sortable row per pair of ``FX_PAIRS``; a click opens its page.

Read through the read model's book read (``readmodel.book``), like the service's
``/pairs``: the same verdicts, in the same words. A Dash DataTable sorts in the browser
(``sort_action="native"``): seven rows need no server round trip per click.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from dash import dash_table, html

from fx_assets.core.pairs import Pair
from fx_assets.core.readmodel.book import Book, BookRow, read_book
from fx_assets.core.readmodel.registry import RegistryReader
from fx_assets.core.readmodel.stores import missing_file, open_warehouse, unreachable_message
from fx_assets.core.settings import Settings
from fx_dash.panels import direction_label, message_box

COLUMNS: list[dict[str, Any]] = [
    {"id": "pair", "name": "pair"},
    {"id": "forecast", "name": "forecast"},
    {"id": "probability_up", "name": "P(up)", "type": "numeric",
     "format": {"specifier": ".1%"}},
    {"id": "champion", "name": "champion"},
    {"id": "age_days", "name": "champion age (days)", "type": "numeric"},
    {"id": "skill", "name": "skill (adjusted for the book)"},
    {"id": "drift", "name": "drift"},
    {"id": "decay", "name": "decay"},
    {"id": "freshness", "name": "newest bar"},
]  # fmt: skip
NO_CHAMPION = "no champion yet"


@dataclass
class Overview:
    """The book as read, or ``message`` when the warehouse could not be read."""

    book: Book
    message: str | None = None
    problem: bool = False


def load_overview(settings: Settings, today: date | None = None) -> Overview:
    """Every pair's row; never raises for a missing or unreachable warehouse."""
    today = today or datetime.now(UTC).date()
    empty = Book(
        rows=[BookRow(p, Pair.parse(p).label, Pair.parse(p).model_name) for p in settings.book]
    )
    if missing_file(settings.warehouse_url) is not None:
        return Overview(empty, message="No data yet: run `fx run` to fill the warehouse.")
    try:
        book = read_book(
            open_warehouse(settings.warehouse_url),
            settings.book,
            registry=RegistryReader(settings.mlflow_tracking_uri),
            today=today,
            stale_after=settings.stale_after_days,
        )
    except sa.exc.SQLAlchemyError as exc:
        url = settings.warehouse_url
        return Overview(empty, message=f"{unreachable_message(exc, url)}.", problem=True)
    return Overview(book)


def _state(fired: bool | None, yes: str, no: str, missing: str) -> str:
    return missing if fired is None else (yes if fired else no)


def table_rows(book: Book, today: date) -> list[dict[str, Any]]:
    """The DataTable's rows; ``id`` is the pair, so a click names it whatever the sort."""
    rows = []
    for r in book.rows:
        f = r.forecast
        forecast = "no forecast yet"
        if f is not None:
            day = pd.Timestamp(f["target_date"])
            forecast = f"{direction_label(f['direction'])} for {day:%a %Y-%m-%d}"
        champion = NO_CHAMPION
        if r.champion is not None:
            champion = f"v{r.champion.version} {r.family or 'family not recorded'}"
        fresh = "no bars yet" if r.newest_bar is None else f"{r.newest_bar:%Y-%m-%d}"
        if r.newest_bar is not None and r.stale:
            fresh += f" (stale: {r.behind} trading days behind)"
        rows.append(
            {
                "id": r.pair,
                "pair": r.label,
                "forecast": forecast,
                "probability_up": r.probability_up,
                "champion": champion,
                "age_days": r.champion_age_days(today),
                "skill": "no backtest yet" if r.skill is None else r.skill.shown,
                "drift": _state(r.drift and r.drift.fired, "drifted", "stable", "not measured"),
                "decay": _state(r.decay and r.decay.fired, "decayed", "not decayed", "not judged"),
                "freshness": fresh,
            }
        )
    return rows


def overview_panel(overview: Overview, today: date | None = None) -> list[Any]:
    today = today or datetime.now(UTC).date()
    children: list[Any] = []
    if overview.message:
        children.append(message_box(overview.message, problem=overview.problem))
    headline = overview.book.headline
    children.append(
        html.Div(
            headline or "No backtest yet: the book's skill verdict follows the first backtests.",
            id="book-headline",
            className="forecast-direction book-headline",
        )
    )
    children.append(
        dash_table.DataTable(
            id="book-table",
            columns=COLUMNS,
            data=table_rows(overview.book, today),
            sort_action="native",
            cell_selectable=True,
            style_as_list_view=True,
            style_cell={
                "textAlign": "left",
                "padding": "6px 8px",
                "cursor": "pointer",
                "fontFamily": "inherit",
                "fontSize": "13px",
                "whiteSpace": "normal",
            },
            style_header={"fontWeight": "600", "backgroundColor": "#f6f8fa"},
            style_data_conditional=[
                {"if": {"filter_query": f'{{champion}} = "{NO_CHAMPION}"'}, "color": "#57606a"},
                {
                    "if": {"filter_query": '{drift} = "drifted"', "column_id": "drift"},
                    "color": "#cf222e",
                },
                {
                    "if": {"filter_query": '{decay} = "decayed"', "column_id": "decay"},
                    "color": "#cf222e",
                },
            ],
        )
    )
    children.append(
        html.Div("Click a pair to open its page; click a header to sort.", className="detail")
    )
    return children
