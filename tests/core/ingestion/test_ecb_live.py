"""``FX_SOURCE=ecb-live`` against a real local HTTP server serving the ECB's zip: a fresh
download, the cache reused on 304, an unreachable server (fallback), a corrupt zip."""

from __future__ import annotations

import logging
import socket
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from fx_assets.core.ingestion.catalog import make_source
from fx_assets.core.ingestion.ecb_live import EcbLiveSource
from fx_assets.core.ingestion.sources import EcbSource, SourceError
from tests.support.market_data import ecb_zip

NEW = {date(2026, 11, 2): 1.1203, date(2026, 11, 3): 1.1188, date(2026, 11, 30): 1.1302}
ETAG = '"ecb-20261130"'
FAST = {"backoff": 0.01, "max_backoff": 0.02, "timeout": 2.0}


def live(url: str, cache: Path, **kwargs: object) -> EcbLiveSource:
    return EcbLiveSource(url=url, cache_dir=cache, **{**FAST, **kwargs})


def ecb_handler(body: bytes):  # type: ignore[no-untyped-def]
    """Serves ``body`` with an ETag; answers 304 to a matching If-None-Match, as the ECB's
    web server does."""

    def handle(request: Request) -> Response:
        if request.headers.get("If-None-Match") == ETAG:
            return Response(status=304, headers={"ETag": ETAG})
        return Response(
            body,
            content_type="application/zip",
            headers={"ETag": ETAG, "Last-Modified": "Mon, 30 Nov 2026 15:00:00 GMT"},
        )

    return handle


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/eurofxref-hist.zip"


def test_a_fresh_download_brings_the_new_fixings(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/hist.zip").respond_with_handler(ecb_handler(ecb_zip(NEW)))

    ecb = live(httpserver.url_for("/hist.zip"), tmp_path / "ecb")
    bars = ecb.fetch(date(2026, 10, 29), date(2026, 12, 31))

    assert [d.date() for d in bars["date"]] == [
        date(2026, 10, 29),
        date(2026, 10, 30),
        *sorted(NEW),
    ]
    assert bars["close"].iloc[-1] == pytest.approx(1.1302)
    assert bars[["open", "high", "low"]].isna().all().all()
    assert ecb.fallback is None and ecb.origin == "downloaded from localhost"
    assert (tmp_path / "ecb" / "eurofxref-hist.zip").read_bytes() == ecb_zip(NEW)


def test_an_unchanged_file_is_not_downloaded_twice(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/hist.zip").respond_with_handler(ecb_handler(ecb_zip(NEW)))
    url = httpserver.url_for("/hist.zip")
    first = live(url, tmp_path / "ecb").history()

    again = live(url, tmp_path / "ecb")
    second = again.history()

    pd.testing.assert_frame_equal(first, second)
    (_, first_response), (request, response) = httpserver.log
    assert request.headers["If-None-Match"] == ETAG
    assert request.headers["If-Modified-Since"] == "Mon, 30 Nov 2026 15:00:00 GMT"
    assert response.status_code == 304 and response.get_data() == b""
    assert len(first_response.get_data()) > 100_000
    assert again.origin.startswith("cache (unchanged since") and again.fallback is None


def test_a_new_file_replaces_the_cache(httpserver: HTTPServer, tmp_path: Path) -> None:
    url = httpserver.url_for("/hist.zip")
    httpserver.expect_oneshot_request("/hist.zip").respond_with_data(
        ecb_zip(), headers={"ETag": '"older"'}
    )
    httpserver.expect_request("/hist.zip").respond_with_handler(ecb_handler(ecb_zip(NEW)))
    assert live(url, tmp_path / "ecb").history()["date"].max() == pd.Timestamp("2026-10-30")

    newer = live(url, tmp_path / "ecb").history()

    assert newer["date"].max() == pd.Timestamp("2026-11-30")


def test_an_unreachable_server_falls_back_to_the_bundled_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    ecb = live(closed_port_url(), tmp_path / "ecb", max_attempts=2)

    bars = ecb.history()

    pd.testing.assert_frame_equal(bars, EcbSource.history())
    assert ecb.fallback is not None and "\n" not in ecb.fallback
    assert "could not reach 127.0.0.1 (ConnectError) after 2 attempt(s)" in ecb.fallback
    assert "using the bundled file, which ends 2026-10-30" in ecb.fallback
    assert ecb.metadata()["ecb_fallback"] == ecb.fallback
    assert ecb.origin == "bundled file (download failed)"
    assert any(r.getMessage() == ecb.fallback for r in caplog.records)


def test_a_failing_server_falls_back_to_the_newest_cached_copy(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    url = httpserver.url_for("/hist.zip")
    httpserver.expect_oneshot_request("/hist.zip").respond_with_handler(ecb_handler(ecb_zip(NEW)))
    httpserver.expect_request("/hist.zip").respond_with_data("busy", status=503)
    live(url, tmp_path / "ecb").history()

    ecb = live(url, tmp_path / "ecb", max_attempts=3)
    bars = ecb.history()

    assert bars["date"].max() == pd.Timestamp("2026-11-30")
    assert "HTTP 503 after 3 attempt(s)" in ecb.fallback and "the copy downloaded" in ecb.fallback
    assert len(httpserver.log) == 4


def test_a_transient_error_is_retried(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_oneshot_request("/hist.zip").respond_with_data("busy", status=502)
    httpserver.expect_request("/hist.zip").respond_with_handler(ecb_handler(ecb_zip(NEW)))

    ecb = live(httpserver.url_for("/hist.zip"), tmp_path / "ecb")

    assert ecb.history()["date"].max() == pd.Timestamp("2026-11-30") and ecb.fallback is None
    assert len(httpserver.log) == 2


@pytest.mark.parametrize(
    "payload", [b"<html>maintenance</html>", b"PK\x03\x04truncated"], ids=["html", "truncated"]
)
def test_a_corrupt_zip_is_a_clear_error_and_keeps_the_cache(
    httpserver: HTTPServer, tmp_path: Path, payload: bytes
) -> None:
    url = httpserver.url_for("/hist.zip")
    httpserver.expect_oneshot_request("/hist.zip").respond_with_data(ecb_zip(), headers={})
    httpserver.expect_request("/hist.zip").respond_with_data(
        payload, content_type="application/zip"
    )
    live(url, tmp_path / "ecb").history()

    with pytest.raises(SourceError) as excinfo:
        live(url, tmp_path / "ecb").history()

    message = str(excinfo.value)
    assert "\n" not in message
    assert "is not a readable eurofxref-hist zip (BadZipFile)" in message
    assert (tmp_path / "ecb" / "eurofxref-hist.zip").read_bytes() == ecb_zip()


def test_make_source_builds_ecb_live_under_its_cache_dir(tmp_path: Path) -> None:
    ecb = make_source("ecb-live", ecb_url="http://127.0.0.1:9/x.zip", cache_dir=tmp_path)

    assert isinstance(ecb, EcbLiveSource) and ecb.name == "ecb-live"
    assert ecb.cache_dir == tmp_path / "ecb" and ecb.first_date() == date(1999, 1, 4)
