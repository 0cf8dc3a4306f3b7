"""Downloads are bounded: a body past its cap, a zip bomb, a redirect loop, a key over
plain http; each is one line and nothing is written. Real local HTTP servers."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from fx_assets.core.ingestion.ecb_live import MAX_DOWNLOAD_BYTES, EcbLiveSource
from fx_assets.core.ingestion.sources import MAX_ECB_CSV_BYTES, SourceError
from fx_assets.core.ingestion.twelvedata import MAX_BODY_BYTES, TwelveDataSource

FAST = {"backoff": 0.01, "max_backoff": 0.02, "timeout": 10.0}
KEY = "twelvedata-key-for-caps"


def _ecb(url: str, cache: Path) -> EcbLiveSource:
    return EcbLiveSource(url=url, cache_dir=cache, **FAST)


def _chunks(total: int, size: int = 1 << 20):  # type: ignore[no-untyped-def]
    """A body sent chunked, without a Content-Length to check first."""
    for _ in range(total // size):
        yield b"x" * size


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_an_oversized_ecb_download_stops_at_the_cap_and_writes_nothing(
    httpserver: HTTPServer, tmp_path: Path, declared: bool
) -> None:
    size = MAX_DOWNLOAD_BYTES + (4 << 20)
    if declared:
        httpserver.expect_request("/hist.zip").respond_with_data(b"x" * size)
    else:
        httpserver.expect_request("/hist.zip").respond_with_response(
            Response(_chunks(size), content_type="application/zip")
        )
    cache = tmp_path / "ecb"
    with pytest.raises(SourceError) as refused:
        _ecb(httpserver.url_for("/hist.zip"), cache).history()
    expected = (
        "the ECB file from localhost is 24 MB, over the 20 MB cap"
        if declared
        else "the ECB file from localhost went past the 20 MB cap; download stopped"
    )
    assert str(refused.value) == expected
    assert not cache.exists() or not any(cache.iterdir())


def _bomb() -> bytes:
    """A 100 kB zip whose CSV unpacks to past the cap (zeros compress ~1000:1)."""
    buf = io.BytesIO()
    block = b"0" * (1 << 20)
    with (
        zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        zf.open("eurofxref-hist.csv", "w") as member,
    ):
        for _ in range((MAX_ECB_CSV_BYTES >> 20) + 8):
            member.write(block)
    return buf.getvalue()


def test_a_zip_bomb_is_not_unpacked_and_nothing_is_written(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    bomb = _bomb()
    assert len(bomb) < 1 << 20
    httpserver.expect_request("/hist.zip").respond_with_data(bomb)
    cache = tmp_path / "ecb"
    with pytest.raises(SourceError, match=r"declares a CSV over 64 MB; not unpacked$"):
        _ecb(httpserver.url_for("/hist.zip"), cache).history()
    assert not cache.exists() or not any(cache.iterdir())


def test_a_redirect_loop_is_cut_short(httpserver: HTTPServer, tmp_path: Path) -> None:
    def again(request: Request) -> Response:
        return Response(status=302, headers={"Location": request.path})

    httpserver.expect_request("/hist.zip").respond_with_handler(again)
    ecb = _ecb(httpserver.url_for("/hist.zip"), tmp_path / "ecb")
    ecb.history()  # falls back to the bundled file, and says why
    assert ecb.fallback is not None and "redirected more than 3 times" in ecb.fallback
    # The request and its three redirects; a loop is not retried.
    assert len(httpserver.log) == 4


def test_an_oversized_twelvedata_answer_is_refused(
    httpserver: HTTPServer, local_http_sources: None
) -> None:
    httpserver.expect_request("/time_series").respond_with_response(
        Response(_chunks(MAX_BODY_BYTES + (2 << 20)), content_type="application/json")
    )
    source = TwelveDataSource(KEY, base_url=httpserver.url_for(""), **FAST)
    with pytest.raises(SourceError, match=r"went past the 10 MB cap; download stopped$"):
        source.fetch(date(2024, 1, 2), date(2024, 1, 5))


def test_the_twelvedata_key_never_travels_over_plain_http(
    httpserver: HTTPServer, fx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request("/time_series").respond_with_json({"status": "ok", "values": []})
    url = httpserver.url_for("")
    with pytest.raises(SourceError, match="must start with https://"):
        TwelveDataSource(KEY, base_url=url, **FAST).fetch(date(2024, 1, 2), date(2024, 1, 5))
    # The test-only setting allows loopback alone.
    monkeypatch.setenv("FX_ALLOW_HTTP_SOURCES", "true")
    with pytest.raises(SourceError, match="must start with https://"):
        TwelveDataSource(KEY, base_url="http://example.org", **FAST).fetch(
            date(2024, 1, 2), date(2024, 1, 5)
        )
    assert httpserver.log == []
    TwelveDataSource(KEY, base_url=url, **FAST).fetch(date(2024, 1, 2), date(2024, 1, 5))
    assert len(httpserver.log) == 1
