"""The ECB's euro reference rates, every currency at once, and the pairs they give.

The ECB fixes each currency against the euro once a TARGET day (about 14:15 CET) and
publishes the history as one CSV (``eurofxref-hist.csv`` in ``eurofxref-hist.zip``): a
``Date`` column and one column per currency, in units of that currency per euro, ``N/A``
where there was no fixing. Any pair of two of those currencies (or the euro) is the cross
of the two fixings of the same day: the price of BASE in QUOTE is
(QUOTE per EUR) / (BASE per EUR), the euro's own fixing being 1. So EUR/USD is the USD
column as published, GBP/USD is USD / GBP, USD/JPY is JPY / USD.

Nothing is rounded: a cross is the quotient of two published fixings, exact to a double's
precision, so nothing is invented either (a rounded cross could move a small daily return
by a tick that never happened). A day on which either fixing is missing is no bar.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

import numpy as np
import pandas as pd

from fx_assets.core.ingestion.base import BAR_COLUMNS, SourceError, cannot_give
from fx_assets.core.pairs import Pair, PairError

EUR = "EUR"
# The ECB's CSV is about 2 MB unpacked (26 years of 41 currencies); a member that says or
# turns out to be larger is not that file, and unpacking it whole could fill the memory.
MAX_ECB_CSV_BYTES = 64 * 1024 * 1024
# A currency with no fixing in the file's last month is one the ECB no longer fixes (it
# joined the euro, like BGN after 2025-12-31, or was dropped, like RUB in 2022). A live
# currency misses a day or two at most; ISK's ten-year gap from December 2008 is over.
RETIRED_AFTER = pd.Timedelta(days=31)


class EuroFixings:
    """Every currency's euro fixings by day, and each pair's bars computed once."""

    def __init__(self, wide: pd.DataFrame, origin: str) -> None:
        # Index: the fixing dates, oldest first; columns: currency codes; NaN: no fixing.
        self.wide = wide
        self.origin = origin
        self._bars: dict[str, pd.DataFrame] = {}
        self._current: list[str] | None = None

    @property
    def newest(self) -> pd.Timestamp | None:
        return self.wide.index.max() if len(self.wide) else None

    def last_fixing(self, currency: str) -> pd.Timestamp | None:
        if currency == EUR:
            return self.newest
        if currency not in self.wide.columns:
            return None
        return self.wide[currency].last_valid_index()

    def current(self) -> list[str]:
        """The euro and the currencies the ECB still fixes (EUR first, then A-Z)."""
        if self._current is None:
            newest = self.newest
            live = [c for c in sorted(self.wide.columns) if _fixed_since(self, c, newest)]
            self._current = [EUR, *live] if newest is not None else []
        return self._current

    def bars(self, pair: str) -> pd.DataFrame:
        """The whole history of ``pair`` (close only), computed on the first call."""
        code = Pair.parse(pair).code
        if code not in self._bars:
            self._bars[code] = self._cross(Pair.parse(code))
        return self._bars[code]

    def check_pairs(self, spec: str, book: Sequence[str]) -> None:
        """A one-line PairError for the first pair of ``book`` these fixings cannot give."""
        current = self.current()
        offer = (
            f"it has the euro fixings of {len(current) - 1} currencies, so any pair of two "
            f"of {', '.join(current)}"
        )
        for text in book:
            pair = Pair.parse(text)
            for currency in pair.legs():
                last = self.last_fixing(currency)
                if last is None:
                    why = f"the ECB fixes no {currency}"
                elif currency not in current:
                    why = f"the ECB stopped fixing {currency} after {last:%Y-%m-%d}"
                else:
                    continue
                raise cannot_give(spec, pair.code, f"{why}; {offer}")

    def _leg(self, currency: str, pair: Pair) -> pd.Series:
        if currency == EUR:
            return pd.Series(1.0, index=self.wide.index)
        if currency not in self.wide.columns:
            raise PairError(
                f"the ECB file ({self.origin}) has no {currency} fixing, so no {pair.label}; "
                f"its currencies are {', '.join(self.current())}"
            )
        return self.wide[currency]

    def _cross(self, pair: Pair) -> pd.DataFrame:
        close = self._leg(pair.quote, pair) / self._leg(pair.base, pair)
        close = close.dropna()
        bars = pd.DataFrame(
            {
                "date": close.index,
                "open": np.nan,
                "high": np.nan,
                "low": np.nan,
                "close": close.to_numpy(dtype=float),
            }
        )
        return bars[BAR_COLUMNS]


def _fixed_since(fixings: EuroFixings, currency: str, newest: pd.Timestamp | None) -> bool:
    last = fixings.last_fixing(currency)
    return newest is not None and last is not None and newest - last <= RETIRED_AFTER


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


def read_fixings(data: bytes, origin: str) -> EuroFixings:
    """Every currency column of the ECB's ``eurofxref-hist.zip``, read once; a file that is
    not that (no CSV, no ``Date`` or ``USD`` column, a non-number) is a one-line
    SourceError."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            member = next((n for n in zf.namelist() if n.endswith(".csv")), None)
            if member is None:
                raise SourceError(f"ECB file {origin} holds no CSV; expected eurofxref-hist.csv")
            text = _read_member(zf, member, origin).decode()
        # Empty cells are missing too (pandas' default), as N/A is.
        frame = pd.read_csv(io.StringIO(text), na_values=["N/A"])
        frame.columns = [str(c).strip() for c in frame.columns]
        if "Date" not in frame.columns or "USD" not in frame.columns:
            raise KeyError("Date, USD")
        # Every line ends with a comma: the empty last column is no currency.
        currencies = [c for c in frame.columns if len(c) == 3 and c.isalpha() and c.isupper()]
        wide = frame[currencies].apply(pd.to_numeric, errors="raise").astype(float)
        wide.index = pd.DatetimeIndex(pd.to_datetime(frame["Date"], format="%Y-%m-%d"), name="date")
    except SourceError:
        raise
    except (zipfile.BadZipFile, ValueError, KeyError, UnicodeDecodeError, EOFError) as exc:
        raise SourceError(
            f"ECB file {origin} is not a readable eurofxref-hist zip ({type(exc).__name__})"
        ) from None
    return EuroFixings(wide.sort_index(), origin)
