"""``FX_SOURCE=csv:PATH``: your own files of daily bars, for one pair or a book.

Columns ``datetime`` or ``date``, ``open``, ``high``, ``low``, ``close`` (any case), and
the pairs in one of two ways:

- one file with a ``pair`` column (``EURUSD``, ``EUR/USD`` or ``eur_usd``): rows of
  several pairs, each pair's bars are its rows;
- one file per pair: ``{pair}`` in the path (``csv:data/{pair}.csv``) stands for the
  pair's six letters, ``data/GBPUSD.csv``.

A single file without a ``pair`` column (the seed's format) holds one pair, so it serves a
one-pair book: the book's pair, EUR/USD when no book is given. Asked for a pair of a
larger book, it cannot tell which pair it holds, and says so in one line.
"""

from __future__ import annotations

import glob
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from fx_assets.core.domain import ECB_FIRST_DATE
from fx_assets.core.ingestion.base import SourceError, cannot_give, in_range
from fx_assets.core.pairs import DEFAULT_PAIR, Pair, PairError, parse_book

PLACEHOLDER = "{pair}"
_PRICES = ("open", "high", "low", "close")


def _lines(index: Sequence[int]) -> str:
    return ", ".join(str(i + 2) for i in list(index)[:5])


class CsvSource:
    """Bars from ``csv:PATH``: one file (with or without a ``pair`` column) or one per pair."""

    name = "csv"

    def __init__(self, path: str | Path, book: Sequence[str] | None = None) -> None:
        self.pattern = str(Path(path).expanduser())
        self.per_pair = PLACEHOLDER in self.pattern
        self.path = Path(self.pattern)
        # A file without a pair column holds the book's pair, when the book has one.
        self.book = parse_book(list(book)) if book else (DEFAULT_PAIR,)
        self._frames: dict[Path, pd.DataFrame] = {}

    @property
    def spec(self) -> str:
        return f"csv:{self.pattern}"

    def file_of(self, pair: str) -> Path:
        return Path(self.pattern.replace(PLACEHOLDER, Pair.parse(pair).code))

    # --- the Source protocol -------------------------------------------------------------
    def first_date(self) -> date:
        if not self.per_pair:
            bars = self._load(self.path)
        else:
            files = [self.file_of(p) for p in self.book if self.file_of(p).exists()]
            if not files:
                raise SourceError(
                    f"CSV source {self.pattern} has no file for any pair of "
                    f"{', '.join(self.book)}; check FX_SOURCE=csv:PATH and FX_PAIRS"
                )
            bars = pd.concat([self._load(f) for f in files], ignore_index=True)
        return bars["date"].min().date() if len(bars) else ECB_FIRST_DATE

    def check_pairs(self, book: Sequence[str]) -> None:
        codes = parse_book(list(book))
        for pair in codes:
            why = self._missing(pair, codes[0] if len(codes) == 1 else None)
            if why:
                raise cannot_give(self.spec, pair, why)

    def fetch(self, start: date, end: date, pair: str = DEFAULT_PAIR) -> pd.DataFrame:
        code = Pair.parse(pair).code
        why = self._missing(code, self.book[0] if len(self.book) == 1 else None)
        if why:
            raise cannot_give(self.spec, code, why)
        frame = self._load(self.file_of(code) if self.per_pair else self.path)
        if "pair" in frame.columns:
            frame = frame.loc[frame["pair"] == code]
        return in_range(frame, start, end)

    # --- which pairs the files hold --------------------------------------------------------
    def _missing(self, pair: str, alone: str | None) -> str | None:
        """Why ``pair`` cannot be given, or None when it can; ``alone``: the pair a single
        file without a pair column holds (the book's only pair), None when unknown."""
        path = self.file_of(pair) if self.per_pair else self.path
        if self.per_pair and not path.exists():
            have = self._pairs_on_disk()
            return f"there is no file {path}; " + (
                f"the files there give {', '.join(have)}" if have else "no file matches the path"
            )
        frame = self._load(path)
        if "pair" in frame.columns:
            held = sorted(frame["pair"].unique())
            if pair in held:
                return None
            return f"{path} has rows of {', '.join(held) or 'no pair'} only"
        if self.per_pair or alone == pair:
            return None
        if alone is not None:
            return f"{path} has no pair column, so it holds the book's one pair, {alone}"
        return (
            f"{path} has no pair column, so it holds one pair and which one is unknown; "
            "add a pair column, or write one file per pair with {pair} in the path "
            "(csv:data/{pair}.csv), or set FX_PAIRS to that one pair"
        )

    def _pairs_on_disk(self) -> list[str]:
        shape = re.compile(re.escape(self.pattern).replace(re.escape(PLACEHOLDER), "(.+?)") + "$")
        found = set()
        for name in glob.glob(glob.escape(self.pattern).replace(glob.escape(PLACEHOLDER), "*")):
            match = shape.match(name)
            if match:
                try:
                    found.add(Pair.parse(match.group(1)).code)
                except PairError:
                    continue
        return sorted(found)

    # --- reading one file ------------------------------------------------------------------
    def _load(self, path: Path) -> pd.DataFrame:
        """The file's bars (and ``pair`` codes if it has that column), read once."""
        if path not in self._frames:
            self._frames[path] = self._read(path)
        return self._frames[path]

    def _read(self, path: Path) -> pd.DataFrame:
        if not path.exists():
            raise SourceError(f"CSV source {path} does not exist; check FX_SOURCE=csv:PATH")
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise SourceError(f"CSV source {path} is not readable CSV: {exc}") from None
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        date_col = "datetime" if "datetime" in frame.columns else "date"
        missing = [c for c in (date_col, *_PRICES) if c not in frame.columns]
        if missing:
            raise SourceError(
                f"CSV source {path} lacks column(s) {', '.join(missing)}; "
                "expected datetime or date, open, high, low, close (and optionally pair)"
            )
        dates = pd.to_datetime(frame[date_col], errors="coerce")
        bad = frame.index[dates.isna()].tolist()
        if bad:
            raise SourceError(f"CSV source {path}: unparseable {date_col} on line(s) {_lines(bad)}")
        bars = pd.DataFrame({"date": dates.dt.tz_localize(None).dt.normalize()})
        for col in _PRICES:
            values = pd.to_numeric(frame[col], errors="coerce")
            bad = frame.index[values.isna() & frame[col].notna()].tolist()
            if bad:
                raise SourceError(f"CSV source {path}: non-numeric {col} on line(s) {_lines(bad)}")
            bars[col] = values.astype(float)
        if "pair" in frame.columns:
            bars["pair"] = self._pair_codes(frame["pair"], path)
        return bars.sort_values("date", kind="stable").reset_index(drop=True)

    @staticmethod
    def _pair_codes(column: pd.Series, path: Path) -> pd.Series:
        codes: dict[str, str] = {}
        for text in column.dropna().astype(str).unique():
            try:
                codes[text] = Pair.parse(text).code
            except PairError:
                continue
        parsed = column.astype(str).map(codes)
        bad = column.index[parsed.isna()].tolist()
        if bad:
            raise SourceError(
                f"CSV source {path}: pair {column[bad[0]]!r} on line(s) {_lines(bad)} is not "
                "a currency pair; write six letters like EURUSD"
            )
        return parsed
