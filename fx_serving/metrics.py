"""Prometheus metrics of the model service, served at ``GET /metrics``.

prometheus-client directly, through one pure ASGI middleware: it reads the matched
route's template from the scope and the status from the response start, so a request
costs two dictionary reads, a counter and a histogram (measured with bench/serving.py;
see the README's figures). A full instrumentation middleware does more per request.

Several workers: each worker is a process with its own counters, so they must write to
files that ``/metrics`` adds up (prometheus-client's multiprocess mode, switched on by
``PROMETHEUS_MULTIPROC_DIR``). ``uvicorn --workers N`` starts its workers with
multiprocessing, so a worker that finds a multiprocessing parent and no
``PROMETHEUS_MULTIPROC_DIR`` takes a folder keyed by that parent's pid: the compose
service (two workers) is right without a setting. Under gunicorn set the variable
yourself to an empty folder (gunicorn's workers are forks without that parent).

The pair is a label (``pair``) of the request count, the rows scored, the champion and its
reloads, and the monitoring gauges. Its values are bounded: only a pair of the book the
service was started with (a route sets it once it has checked the pair against
``FX_PAIRS``), else empty; a string from a request never becomes a label value. The
latency histogram has no pair label: the code path is the same for every pair, and its
buckets times eight pairs would be most of the service's series.

Access: ``/metrics`` is open like ``/health`` by default, also when ``FX_API_TOKEN`` is
set. It holds counts, latencies, route templates and the champion's version: no
forecast, no feature value and no secret, so Prometheus scrapes it without a credential
(a scraper holding the API token could score and read forecasts). Where the port is
reachable by others, set ``FX_METRICS_TOKEN``: then ``/metrics`` needs
``Authorization: Bearer <FX_METRICS_TOKEN>``, a token of its own for the scraper.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import re
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client import multiprocess as _multiprocess

from fx_assets.core.readmodel.status import Status

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Bucket edges around the service's own figures: a one-row /predict is about 0.5 ms, the
# compose alert fires above 50 ms, and warehouse reads take tens of milliseconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Unknown paths share one label: a scanner trying a thousand URLs must not make a thousand
# time series.
UNMATCHED = "unmatched"
# Where a route leaves the pair it checked against the book, for the request's labels.
PAIR_SCOPE_KEY = "fx.pair"


def _choose_multiprocess_dir() -> None:
    """Multiprocess mode for uvicorn's workers: a worker with a multiprocessing parent and
    no PROMETHEUS_MULTIPROC_DIR takes a folder keyed by that parent's pid."""
    if os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()):
        return
    parent = multiprocessing.parent_process()
    if parent is None or parent.pid is None:
        return
    folder = Path(tempfile.gettempdir()) / f"fx-prometheus-{parent.pid}"
    folder.mkdir(mode=0o700, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(folder)


# prometheus-client names a worker's file <kind>_<pid>.db.
_PID_FILE = re.compile(r"_(\d+)\.db$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wipe_dead_workers() -> None:
    """Delete the files of processes that no longer run, at every worker's start.

    They belong to an earlier start of the service (a restarted container reuses pid 1's
    folder; an operator's folder outlives the server) or to a worker that died: left in
    place they are added to the live counts. Only dead processes' files go, so workers
    starting side by side never delete each other's.
    """
    folder = os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower())
    if not folder or not Path(folder).is_dir():
        return
    for path in Path(folder).glob("*.db"):
        match = _PID_FILE.search(path.name)
        if match and int(match.group(1)) != os.getpid() and not _alive(int(match.group(1))):
            path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Instruments:
    requests: Counter
    latency: Histogram
    predictions: Counter
    champion: Gauge
    reloads: Counter
    reload_failures: Counter


@functools.cache
def instruments() -> Instruments:
    """The service's metrics, made once per process when the app is created (not at
    import, so no import order matters). prometheus_client picks its value store (memory
    or multiprocess files) when it is first imported, from PROMETHEUS_MULTIPROC_DIR: the
    store is picked again here, after the multiprocess decision, whoever imported it first.
    """
    _choose_multiprocess_dir()
    _wipe_dead_workers()
    values.ValueClass = values.get_value_class()
    return Instruments(
        requests=Counter(
            "fx_http_requests_total",
            "HTTP requests by route template, method, status and pair (empty: none or unknown).",
            ["route", "method", "status", "pair"],
        ),
        latency=Histogram(
            "fx_http_request_duration_seconds",
            "Time from request to response end, by route.",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
        ),
        predictions=Counter(
            "fx_predictions_total",
            "Rows scored by /predict, by pair and predicted direction.",
            ["pair", "direction"],
        ),
        # livemax: the version some live worker serves is 1; a version no live worker serves
        # any more reads 0 (a worker sets its old version to 0 when it swaps).
        champion=Gauge(
            "fx_champion_version_info",
            "The champion version a worker serves (1) or served (0), per pair.",
            ["pair", "model_name", "version"],
            multiprocess_mode="livemax",
        ),
        reloads=Counter(
            "fx_champion_reloads_total",
            "Champion versions loaded (first load included), per pair.",
            ["pair"],
        ),
        reload_failures=Counter(
            "fx_champion_reload_failures_total",
            "Champion reloads that failed (the old one kept), per pair.",
            ["pair"],
        ),
    )


def count_predictions(pair: str, direction: Any) -> None:
    """Count a batch of ``pair``'s directions (0/1 array) by up and down."""
    up = int(direction.sum())
    counter = instruments().predictions
    if up:
        counter.labels(pair, "up").inc(up)
    if len(direction) - up:
        counter.labels(pair, "down").inc(len(direction) - up)


def champion_swapped(pair: str, name: str, version: str, previous: str | None) -> None:
    found = instruments()
    found.reloads.labels(pair).inc()
    if previous is not None and previous != version:
        found.champion.labels(pair, name, previous).set(0)
    found.champion.labels(pair, name, version).set(1)


def pair_served(pair: str) -> None:
    """Start ``pair``'s reload counts at 0: a rate over a series that appears only at its
    first failure misses that failure (and a scrape shows which pairs are served)."""
    found = instruments()
    found.reloads.labels(pair)
    found.reload_failures.labels(pair)


def reload_failed(pair: str) -> None:
    instruments().reload_failures.labels(pair).inc()


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.instruments = instruments()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            labels = (getattr(route, "path", UNMATCHED), scope["method"], str(status[0]))
            self.instruments.requests.labels(*labels, scope.get(PAIR_SCOPE_KEY, "")).inc()
            self.instruments.latency.labels(*labels).observe(time.perf_counter() - started)


def _status_metrics(statuses: Mapping[str, Status] | None) -> bytes:
    """The warehouse's monitoring state of each pair as gauges, read at scrape time (any
    worker)."""
    registry = CollectorRegistry()
    up = Gauge(
        "fx_warehouse_up", "The service could read the warehouse (1) or not.", registry=registry
    )
    up.set(statuses is not None)
    failed = Gauge(
        "fx_monitoring_check_failed",
        "A WARN check of the pair's newest monitoring run failed (1) or passed (0).",
        ["check", "pair"],
        registry=registry,
    )
    ingested = Gauge(
        "fx_etl_last_ingested_timestamp_seconds",
        "When the pair's newest raw bars were ingested (Unix time).",
        ["pair"],
        registry=registry,
    )
    for pair, status in (statuses or {}).items():
        for check, fired in status.checks_failed.items():
            failed.labels(check, pair).set(fired)
        if status.newest_ingested is not None:
            ingested.labels(pair).set(status.newest_ingested.timestamp())
    return generate_latest(registry)


def render(statuses: Mapping[str, Status] | None = None) -> tuple[bytes, str]:
    """The exposition text: this process's registry, or every worker's files summed, and
    each pair's monitoring status (None: the warehouse could not be read)."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        _multiprocess.MultiProcessCollector(registry)
        own = generate_latest(registry)
    else:
        own = generate_latest(REGISTRY)
    return own + _status_metrics(statuses), CONTENT_TYPE_LATEST


def token_ok(token: str | None, authorization: str) -> bool:
    """True when no FX_METRICS_TOKEN is set or the header carries it as a bearer token."""
    if not token:
        return True
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and secrets.compare_digest(given.encode(), token.encode())
