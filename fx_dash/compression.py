"""Compressed responses, with Dash's static files compressed once per process.

flask-compress compresses every response as it goes out; for plotly.js (4.8 MB) that is
about a second of CPU per page view. Its cache is keyed by request only, so it must never
hold a dynamic response (layout, callbacks): this backend keeps Dash's component files
and the app's assets alone, which do not change while the process runs.

Keyed on the file, not the URL: Dash fingerprints a component file's URL with a version
and a timestamp that it strips before serving, so any made-up fingerprint serves the same
file. Keyed on the URL, a stream of invented fingerprints would cost a compression (a
CPU-second for plotly.js) and a cache entry each, with nobody signed in. And bounded: the
least recently used entry goes past ``MAX_ENTRIES`` (the app serves about thirty files).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from dash.fingerprint import check_fingerprint
from flask import Flask, Request

STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/")
MAX_ENTRIES = 64


class StaticCompressionCache:
    """flask-compress cache backend: Dash's static files only, least recently used out."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._store: OrderedDict[str, bytes] = OrderedDict()
        self.max_entries = max_entries

    def __len__(self) -> int:
        return len(self._store)

    def get(self, key: str) -> bytes | None:
        value = self._store.get(key)
        if value is not None:
            self._store.move_to_end(key)
        return value

    def set(self, key: str, value: bytes) -> None:
        # flask-compress keys are "<algorithm>;<cache_key(request)>".
        if key.partition(";")[2].startswith(STATIC_PREFIXES):
            self._store[key] = value
            self._store.move_to_end(key)
            while len(self._store) > self.max_entries:
                self._store.popitem(last=False)


def cache_key(request: Request) -> str:
    """The file a request is served from: its path without Dash's fingerprint."""
    return check_fingerprint(request.path)[0]


def compressing_server(name: str) -> Flask:
    """A Flask server configured for ``Dash(server=..., compress=True)``."""
    server = Flask(name)
    config: dict[str, Any] = {
        "COMPRESS_CACHE_BACKEND": StaticCompressionCache,
        "COMPRESS_CACHE_KEY": cache_key,
    }
    server.config.update(config)
    return server
