"""Compressed responses, with Dash's static files compressed once per process.

flask-compress compresses every response as it goes out; for plotly.js (4.8 MB) that is
about a second of CPU per page view. Its cache is keyed by request only, so it must never
hold a dynamic response (layout, callbacks): this backend keeps Dash's component files
and the app's assets alone, which do not change while the process runs.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Request

STATIC_PREFIXES = ("/_dash-component-suites/", "/assets/")


class StaticCompressionCache:
    """flask-compress cache backend that stores only Dash's static component files."""

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self._store.get(key)

    def set(self, key: str, value: bytes) -> None:
        # flask-compress keys are "<algorithm>;<path>".
        if key.partition(";")[2].startswith(STATIC_PREFIXES):
            self._store[key] = value


def cache_key(request: Request) -> str:
    return request.path


def compressing_server(name: str) -> Flask:
    """A Flask server configured for ``Dash(server=..., compress=True)``."""
    server = Flask(name)
    config: dict[str, Any] = {
        "COMPRESS_CACHE_BACKEND": StaticCompressionCache,
        "COMPRESS_CACHE_KEY": cache_key,
    }
    server.config.update(config)
    return server
