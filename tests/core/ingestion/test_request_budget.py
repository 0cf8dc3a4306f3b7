"""Twelve Data for a book of pairs: one symbol per pair, and the per-minute request budget
kept for the whole book, counted by the stand-in server (pytest-httpserver).

The budget's clock and sleep are injected (a clock that sleeping moves on), so a test of
several minutes of requests runs in a second; the budget object, its ledger file and its
lock are the ones production uses. One test runs two real processes on a real clock
with a one-second window to show the ledger holds between processes.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from fx_assets.core.ingestion.budget import WINDOW_SECONDS, RequestBudget
from fx_assets.core.ingestion.catalog import make_source
from fx_assets.core.ingestion.twelvedata import TwelveDataSource
from fx_assets.core.pairs import Pair
from tests.support.market_data import NO_DATA, twelvedata_values

pytestmark = pytest.mark.usefixtures("local_http_sources")

KEY = "td-budget-key-0c9d"
BOOK = ("EURUSD", "GBPUSD", "USDJPY", "AUDUSD")
START, END = date(2024, 1, 1), date(2024, 3, 31)
# 91 days in pages of 30: four requests per pair, sixteen for the book.
PAGE_DAYS = 30


class Clock:
    """Wall-clock seconds that move only when someone sleeps or a request takes time."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def level(symbol: str) -> float:
    """Each symbol's bars sit at their own level, so a mixed-up pair shows."""
    return {"EUR/USD": 1.08, "GBP/USD": 1.27, "USD/JPY": 148.0, "AUD/USD": 0.66}[symbol]


def book_server(httpserver: HTTPServer, clock: Clock) -> list[tuple[float, str]]:
    """Serves each symbol's weekday bars; records (clock time, symbol) per request, and
    lets each request take a second of the clock."""
    seen: list[tuple[float, str]] = []

    def handle(request: Request) -> Response:
        symbol = request.args["symbol"]
        seen.append((clock.time(), symbol))
        clock.sleep(1.0)
        lo, hi = pd.Timestamp(request.args["start_date"]), pd.Timestamp(request.args["end_date"])
        days = pd.bdate_range(lo, hi - timedelta(days=1))
        if not len(days):
            return Response(json.dumps(NO_DATA), content_type="application/json")
        bars = pd.DataFrame({"date": days, "close": level(symbol)})
        bars = bars.assign(open=bars["close"], high=bars["close"], low=bars["close"])
        body = {"meta": {"symbol": symbol}, "values": twelvedata_values(bars), "status": "ok"}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/time_series").respond_with_handler(handle)
    return seen


def most_in_any_window(stamps: list[float], window: float) -> int:
    """The most stamps in any half-open window (t - window, t]."""
    stamps = sorted(stamps)
    return max(sum(1 for s in stamps if t - window < s <= t) for t in stamps)


def test_a_book_never_exceeds_the_budget_in_any_minute(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    clock = Clock()
    seen = book_server(httpserver, clock)
    ledger = tmp_path / "sources" / "twelvedata-requests.json"

    def td() -> TwelveDataSource:
        # Each source object has its own budget object: the ledger file is what they share.
        budget = RequestBudget(3, ledger, clock=clock.time, sleep=clock.sleep)
        return TwelveDataSource(
            KEY, base_url=httpserver.url_for("/"), page_days=PAGE_DAYS, budget=budget
        )

    started = clock.time()
    bars = {pair: td().fetch(START, END, pair) for pair in BOOK}

    assert [symbol for _, symbol in seen] == [Pair.parse(p).label for p in BOOK for _ in range(4)]
    assert most_in_any_window([t for t, _ in seen], 60.0) == 3
    # Sixteen requests at three a minute: five full windows of waiting, not less.
    assert clock.time() - started >= 5 * WINDOW_SECONDS
    for pair, frame in bars.items():
        assert list(frame["date"]) == list(pd.bdate_range(START, END))
        assert (frame["close"] == level(Pair.parse(pair).label)).all()


def test_retries_spend_the_budget_too(httpserver: HTTPServer, tmp_path: Path) -> None:
    clock = Clock()
    busy = {"code": 429, "message": "You have run out of API credits", "status": "error"}
    httpserver.expect_ordered_request("/time_series").respond_with_json(busy, status=429)
    seen = book_server(httpserver, clock)
    budget = RequestBudget(1, tmp_path / "ledger.json", clock=clock.time, sleep=clock.sleep)
    td = TwelveDataSource(
        KEY, base_url=httpserver.url_for("/"), budget=budget, backoff=0.01, max_backoff=0.02
    )

    bars = td.fetch(date(2024, 1, 2), date(2024, 1, 5), "GBPUSD")

    assert len(bars) == 4 and len(httpserver.log) == 2
    # The retry waited for the budget's next minute, though tenacity's own wait is 20 ms.
    assert seen[0][0] >= 1_800_000_000.0 + WINDOW_SECONDS


def test_the_setting_sets_the_deployments_budget(
    httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FX_TWELVEDATA_REQUESTS_PER_MINUTE", "5")
    book_server(httpserver, Clock())
    td = make_source(
        "twelvedata", api_key=KEY, base_url=httpserver.url_for("/"), cache_dir=tmp_path
    )
    assert isinstance(td, TwelveDataSource)

    td.fetch(date(2024, 1, 2), date(2024, 1, 5), "USDJPY")

    assert td.budget().per_minute == 5
    (stamp,) = json.loads((tmp_path / "twelvedata-requests.json").read_text())
    assert abs(stamp - time.time()) < 60


def _spend(ledger: str, count: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    budget = RequestBudget(2, Path(ledger), window=1.0)
    for _ in range(count):
        out.put(budget.acquire())


def test_two_processes_share_one_budget(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    ledger = str(tmp_path / "ledger.json")
    workers = [ctx.Process(target=_spend, args=(ledger, 4, out)) for _ in range(2)]
    for worker in workers:
        worker.start()
    stamps = [out.get(timeout=30) for _ in range(8)]
    for worker in workers:
        worker.join(timeout=30)

    assert most_in_any_window(stamps, 1.0) == 2
    # Eight requests at two a second: at least three seconds from the first to the last.
    assert max(stamps) - min(stamps) >= 3.0 - 1e-6
