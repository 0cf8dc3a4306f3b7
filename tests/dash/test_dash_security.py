"""The dashboard under a hostile visitor: its compression cache stays bounded, and an
unexpected error shows an error id, never its text (which can name a host or a user)."""

from __future__ import annotations

import gzip
import logging
import re
from pathlib import Path

import pytest
from flask_compress import Compress

from fx_dash.compression import MAX_ENTRIES, compressing_server

GZ = {"Accept-Encoding": "gzip"}


def test_made_up_fingerprints_neither_grow_the_cache_nor_compress_again() -> None:
    server = compressing_server("cache-bound")
    cache = Compress(server).cache
    served: list[str] = []

    # Like Dash: a component file's URL carries a fingerprint the server strips.
    @server.route("/_dash-component-suites/<path:name>")
    def component(name: str) -> tuple[str, int, dict[str, str]]:
        served.append(name)
        return "var plotly = 1;\n" * 5000, 200, {"Content-Type": "text/javascript"}

    client = server.test_client()
    for i in range(500):
        url = f"/_dash-component-suites/plotly/package_data/plotly.v{i}_0_0m{1700000000 + i}.min.js"
        response = client.get(url, headers=GZ)
        assert response.status_code == 200
        assert gzip.decompress(response.data) == b"var plotly = 1;\n" * 5000
    assert len(cache) == 1  # one file, one entry: compressed once
    for i in range(500):
        assert client.get(f"/_dash-component-suites/made-up/file{i}.js", headers=GZ).status_code
    assert len(cache) == MAX_ENTRIES


def test_an_unexpected_error_shows_an_id_and_logs_the_detail(
    fx_home: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import json

    from plotly.utils import PlotlyJSONEncoder

    import fx_dash.app as dash_app
    import fx_dash.layout as layout

    leak = (
        'connection to server at "db.internal" (10.0.0.5), port 5432 failed: FATAL: '
        'password authentication failed for user "fx_writer"'
    )

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError(leak)

    monkeypatch.setattr(layout, "load_snapshot", broken)  # the injected database error
    dash_app.create_app()
    with caplog.at_level(logging.ERROR):
        # What the URL callback sends the browser for a pair's page.
        page = json.dumps(layout.route("/pair/EURUSD"), cls=PlotlyJSONEncoder)
    assert "db.internal" not in page and "fx_writer" not in page and "RuntimeError" not in page
    found = re.search(r"The page could not be built \(error id ([0-9a-f]{12})\)", page)
    assert found, page[:2000]
    logged = [r for r in caplog.records if found.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info and leak in str(logged[0].exc_info[1])
