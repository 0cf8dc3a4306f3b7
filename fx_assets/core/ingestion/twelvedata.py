"""Twelve Data ``/time_series`` client: daily bars of any pair over HTTP, one symbol per
pair (``GBP/USD``), every request within the deployment's per-minute budget (``budget.py``,
``FX_TWELVEDATA_REQUESTS_PER_MINUTE``).

The key travels in the documented ``Authorization: apikey KEY`` header, never in the
URL, so neither httpx's request log nor an exception that quotes the URL can carry it;
every message built from a server answer is scrubbed of it as well.

Twelve Data reports errors both as HTTP statuses and as HTTP 200 with an error body
``{"code", "message", "status": "error"}``; both are handled the same way. Rate limits
(429), server errors (5xx) and network failures are retried by tenacity with exponential
backoff and full jitter, a bounded number of times; anything else fails at once with one
line.

Bars are asked for in UTC (``timezone=UTC``), so a daily bar's date is the UTC day it
opened and does not move with the exchange's zone. Weekend-dated bars (a few hours of
Sunday-evening or Saturday trading stamped as a bar) are passed on as sent: the raw
expectations quarantine them with their reason instead of dropping them unseen.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pandas as pd
import tenacity

from fx_assets.core.domain import ECB_FIRST_DATE
from fx_assets.core.ingestion.base import SourceError, read_capped
from fx_assets.core.ingestion.budget import RequestBudget
from fx_assets.core.ingestion.twelvedata_bars import (
    assemble,
    empty_bars,
    parse_values,
    request_windows,
)
from fx_assets.core.pairs import DEFAULT_PAIR, Pair

__all__ = ["MAX_OUTPUTSIZE", "TwelveDataSource", "request_windows", "require_https"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.twelvedata.com"
API_KEY_VAR = "TWELVEDATA_API_KEY"
# The documented ceiling on data points per request.
MAX_OUTPUTSIZE = 5000
# A full page of 5000 daily bars is about 600 kB of JSON; a body past this is not one.
MAX_BODY_BYTES = 10 * 1024 * 1024
# Twelve Data's answer (code 400) for a range without bars, e.g. a weekend or a holiday.
NO_DATA_MESSAGE = "no data is available"


class _Transient(Exception):
    """A failure that another attempt may not meet (rate limit, server error, network)."""


def require_https(url: str) -> None:
    """The key must not travel in clear: https only, or a loopback server under the
    test-only FX_ALLOW_HTTP_SOURCES."""
    from fx_assets.core.settings import load_settings

    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    local = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "http" and local and load_settings().allow_http_sources:
        return
    raise SourceError(
        f"TWELVEDATA_BASE_URL must start with https:// (the API key travels with every"
        f" request), not {parts.scheme or 'no scheme'}://; FX_ALLOW_HTTP_SOURCES=true"
        " allows a local http:// server, for tests only"
    )


class TwelveDataSource:
    """Daily OHLC bars of any pair from the Twelve Data REST API (``TWELVEDATA_API_KEY``).

    ``budget``: the request budget to spend; by default the deployment's, a ledger under
    ``cache_dir`` (``$FX_HOME/sources``) allowing ``requests_per_minute`` (default
    FX_TWELVEDATA_REQUESTS_PER_MINUTE), shared with every other source object and process
    on that FX_HOME.
    """

    name = "twelvedata"

    def __init__(
        self,
        api_key: str | None,
        base_url: str | None = None,
        *,
        cache_dir: Path | None = None,
        requests_per_minute: int | None = None,
        budget: RequestBudget | None = None,
        timeout: float = 30.0,
        max_attempts: int = 6,
        backoff: float = 2.0,
        max_backoff: float = 60.0,
        page_days: int = MAX_OUTPUTSIZE,
    ) -> None:
        if not 2 <= page_days <= MAX_OUTPUTSIZE:
            raise ValueError(f"page_days must be within 2..{MAX_OUTPUTSIZE}, got {page_days}")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        # Kept private and out of any repr; checked only when bars are fetched, so that
        # first_date() and Definitions loading work without a key.
        self._api_key = (api_key or "").strip()
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        self.cache_dir = cache_dir
        self.requests_per_minute = requests_per_minute
        self._budget = budget
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.page_days = page_days

    def first_date(self) -> date:
        # The platform's history starts with the euro (1999-01-04), whatever the pair: one
        # start for the whole book. Asking the API (/earliest_timestamp) would spend a
        # credit per pair and need the network for a constant.
        return ECB_FIRST_DATE

    def check_pairs(self, book: Sequence[str]) -> None:
        """Every well-formed pair: Twelve Data lists some two thousand currency pairs and
        metals, and asking which would spend requests; a symbol it does not know fails
        the fetch with one line naming it."""
        for pair in book:
            Pair.parse(pair)

    def budget(self) -> RequestBudget:
        """The budget every request of this source spends (built on first use)."""
        if self._budget is None:
            from fx_assets.core.settings import load_settings

            settings = load_settings()
            per_minute = self.requests_per_minute or settings.twelvedata_requests_per_minute
            where = self.cache_dir or settings.home / "sources"
            self._budget = RequestBudget(per_minute, Path(where) / "twelvedata-requests.json")
        return self._budget

    def fetch(self, start: date, end: date, pair: str = DEFAULT_PAIR) -> pd.DataFrame:
        symbol = Pair.parse(pair).label
        if not self._api_key:
            raise SourceError(
                f"{API_KEY_VAR} is not set; export your Twelve Data API key "
                "(https://twelvedata.com/account/api-keys) or use FX_SOURCE=ecb"
            )
        require_https(self.base_url)
        if end < start:
            return empty_bars()
        headers = {"Authorization": f"apikey {self._api_key}", "Accept": "application/json"}
        with httpx.Client(base_url=self.base_url, headers=headers, timeout=self.timeout) as client:
            pages = [
                self._page(client, symbol, lo, hi)
                for lo, hi in request_windows(start, end, self.page_days)
            ]
        return assemble(pages, start, end)

    # --- one request window -----------------------------------------------------
    def _page(self, client: httpx.Client, symbol: str, lo: date, hi: date) -> pd.DataFrame:
        upto = hi + timedelta(days=1)
        params = {
            "symbol": symbol,
            "interval": "1day",
            "start_date": lo.isoformat(),
            "end_date": upto.isoformat(),
            "outputsize": (upto - lo).days + 1,
            "timezone": "UTC",
            "format": "JSON",
        }
        window = f"{symbol} {lo}..{hi}"
        body = self._get_with_retries(client, params, window)
        if body is None:
            return empty_bars()
        return parse_values(body, window)

    def _get_with_retries(
        self, client: httpx.Client, params: dict[str, Any], window: str
    ) -> dict[str, Any] | None:
        def log_retry(state: tenacity.RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                "Twelve Data %s for %s; retry %d of %d in %.2f s",
                self._clean(str(error)),
                window,
                state.attempt_number,
                self.max_attempts - 1,
                state.upcoming_sleep,
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            # Full jitter: clients that failed together do not retry together.
            wait=tenacity.wait_random_exponential(multiplier=self.backoff, max=self.max_backoff),
            retry=tenacity.retry_if_exception_type(_Transient),
            before_sleep=log_retry,
            reraise=True,
        )
        try:
            return retrying(self._get_once, client, params, window)
        except _Transient as exc:
            raise SourceError(
                f"Twelve Data {self._clean(str(exc))} for {window}, {self.max_attempts} "
                "attempt(s); try again later or check TWELVEDATA_BASE_URL"
            ) from None

    def _get_once(
        self, client: httpx.Client, params: dict[str, Any], window: str
    ) -> dict[str, Any] | None:
        """The decoded ``status: ok`` body, or None for a window without bars."""
        self.budget().acquire(f"Twelve Data {window}")
        try:
            with client.stream("GET", "/time_series", params=params) as response:
                status = response.status_code
                raw = read_capped(response, MAX_BODY_BYTES, f"Twelve Data's answer for {window}")
        except httpx.TimeoutException:
            raise _Transient(f"timed out after {self.timeout:g} s") from None
        except httpx.TransportError as exc:
            # str(exc) may quote the request; the exception type says enough.
            raise _Transient(f"could not be reached ({type(exc).__name__})") from None
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        detail = body.get("message") if isinstance(body, dict) else None
        if status == 429 or status >= 500:
            raise _Transient(f"answered HTTP {status}{self._suffix(detail)}")
        if not 200 <= status < 300:
            self._refuse(status, detail, window, params["symbol"])
            return None
        if not isinstance(body, dict):
            raise SourceError(
                f"Twelve Data answered {window} with a body that is not a JSON object; "
                "check TWELVEDATA_BASE_URL points at the API root"
            )
        if body.get("status") == "error":
            try:
                code = int(body.get("code", 400))
            except (TypeError, ValueError):
                code = 400
            if code == 429 or code >= 500:
                raise _Transient(f"reported error {code}{self._suffix(detail)}")
            self._refuse(code, detail, window, params["symbol"])
            return None
        return body

    def _refuse(self, code: int, detail: object, window: str, symbol: str) -> None:
        """Return quietly for an empty window; otherwise raise the one-line SourceError."""
        text = self._clean(str(detail or ""))
        if NO_DATA_MESSAGE in text.lower():
            return
        if code == 401:
            advice = f"check {API_KEY_VAR}"
        elif code == 403:
            advice = "the key's plan does not cover this request"
        elif code == 404:
            advice = f"check the symbol {symbol!r} and TWELVEDATA_BASE_URL"
        else:
            advice = "the request was refused; check the symbol and dates"
        raise SourceError(f"Twelve Data error {code} for {window}{self._suffix(text)}; {advice}")

    # --- helpers -----------------------------------------------------------------
    def _clean(self, text: str) -> str:
        """One line, bounded, and without the key even if a server echoes it."""
        text = re.sub(r"\s+", " ", text).strip()
        if self._api_key:
            text = text.replace(self._api_key, "***")
        return text if len(text) <= 300 else text[:297] + "..."

    def _suffix(self, detail: object) -> str:
        text = self._clean(str(detail)) if detail else ""
        return f": {text}" if text else ""
