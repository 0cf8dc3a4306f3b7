"""The page's book overview and its URLs, without a browser: one row per pair of the book,
each page of a pair that pair's, an unknown pair named with the book."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from plotly.utils import PlotlyJSONEncoder

from fx_assets.core.contracts import FINAL, PREDICTIONS, RAW
from fx_assets.core.domain import FEATURES
from fx_assets.core.settings import load_settings
from fx_assets.core.warehouse import Warehouse
from fx_dash.book import NO_CHAMPION, load_overview, table_rows
from tests.support.frames import predictions_frame, raw_bars

EUR_DAYS = pd.bdate_range("2024-01-01", periods=80)
GBP_DAYS = pd.bdate_range("2024-02-01", periods=50)


def fill(url: str, pair: str, days: pd.DatetimeIndex) -> None:
    wh = Warehouse(url).for_pair(pair)
    final = pd.DataFrame({"date": days, **{f: 0.0 for f in FEATURES}})
    final["target"] = pd.array([1] * (len(days) - 1) + [None], "Int64")
    wh.replace_all(RAW, raw_bars(days))
    wh.replace_all(FINAL, final)
    wh.replace_all(PREDICTIONS, predictions_frame([0] * 10, start=str(days[-10].date())))


@pytest.fixture
def book_home(fx_home: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{fx_home / 'warehouse.db'}"
    fill(url, "EURUSD", EUR_DAYS)
    fill(url, "GBPUSD", GBP_DAYS)
    monkeypatch.setenv("FX_PAIRS", "GBPUSD,EURUSD,USDJPY")
    return url


def test_the_overview_has_one_row_per_pair_of_the_book(book_home: str) -> None:
    overview = load_overview(load_settings(), today=date(2024, 5, 1))
    assert overview.message is None
    rows = table_rows(overview.book, date(2024, 5, 1))
    assert [r["id"] for r in rows] == ["GBPUSD", "EURUSD", "USDJPY"]
    gbp, eur, jpy = rows
    assert gbp["pair"] == "GBP/USD" and gbp["probability_up"] == pytest.approx(0.4)
    target = (GBP_DAYS[-1] + pd.offsets.BDay(1)).strftime("%a %Y-%m-%d")
    assert gbp["forecast"] == f"down or flat for {target}"
    assert gbp["freshness"].startswith(f"{GBP_DAYS[-1]:%Y-%m-%d} (stale: ")
    assert eur["freshness"].startswith(f"{EUR_DAYS[-1]:%Y-%m-%d}")
    # No registry yet: every champion is missing, and says so.
    assert {r["champion"] for r in rows} == {NO_CHAMPION}
    assert jpy["forecast"] == "no forecast yet" and jpy["freshness"] == "no bars yet"
    assert jpy["skill"] == "no backtest yet" and jpy["drift"] == "not measured"


def _page(pathname: str) -> str:
    import fx_dash.app as dash_app
    import fx_dash.layout as layout

    dash_app.create_app()
    return json.dumps(layout.route(pathname), cls=PlotlyJSONEncoder)


def test_each_url_names_its_page(book_home: str) -> None:
    overview = _page("/")
    assert "The book: next-day direction per pair" in overview and '"book-table"' in overview
    gbp = _page("/pair/GBPUSD")
    assert "GBP/USD next-day direction" in gbp and '"data": "GBPUSD"' in gbp
    assert "EUR/USD" not in gbp
    # A pair of the book with no rows: its own empty state, never another pair's data.
    jpy = _page("/pair/USDJPY")
    assert "No data yet: fx_raw has no USD/JPY bars." in jpy
    unknown = _page("/pair/NZDUSD")
    assert "Unknown pair 'NZDUSD': the book is GBPUSD, EURUSD, USDJPY (FX_PAIRS)." in unknown
