"""What every market-data source shares: the bar frame, the protocol, the errors.

A source returns, for one pair and a date range, a DataFrame with ``date`` (datetime64),
``open``, ``high``, ``low`` (null where the source has none) and ``close``, oldest first,
inside the range; and says before any fetch whether it can give every pair of a book
(``check_pairs``), so an impossible book stops with one line, not mid-backfill.

Apart from ``sources.py`` so that the ECB's fixings (``fixings.py``) can use these without
importing the sources that use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

import httpx
import pandas as pd

from fx_assets.core.pairs import DEFAULT_PAIR, PairError

BAR_COLUMNS = ["date", "open", "high", "low", "close"]


class SourceError(RuntimeError):
    """The source could not deliver bars; the message says why and what to do."""


class Source(Protocol):
    name: str

    def first_date(self) -> date:
        """The first date this source can have a bar for."""
        ...

    def fetch(self, start: date, end: date, pair: str = DEFAULT_PAIR) -> pd.DataFrame:
        """Daily bars of ``pair`` with start <= date <= end, oldest first."""
        ...

    def check_pairs(self, book: Sequence[str]) -> None:
        """Raise a one-line PairError naming the first pair of ``book`` it cannot give."""
        ...


def cannot_give(spec: str, pair: str, why: str) -> PairError:
    """The one-line refusal every source words the same way."""
    return PairError(f"FX_SOURCE={spec} cannot give {pair}: {why}")


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


def in_range(bars: pd.DataFrame, start: date, end: date) -> pd.DataFrame:
    """The bars with start <= date <= end, oldest first, as a fresh frame (a caller may
    modify it without touching a source's cache)."""
    mask = (bars["date"] >= pd.Timestamp(start)) & (bars["date"] <= pd.Timestamp(end))
    return bars.loc[mask, BAR_COLUMNS].sort_values("date").reset_index(drop=True)
