"""``csv:`` for a book: one file with a ``pair`` column, one file per pair (``{pair}`` in
the path), and the seed's file without a pair column serving a one-pair book."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from fx_assets.core.ingestion.catalog import make_source
from fx_assets.core.ingestion.sources import BAR_COLUMNS, CsvSource, SourceError
from fx_assets.core.pairs import DEFAULT_BOOK, PairError

DAYS = ["2024-01-02", "2024-01-03", "2024-01-04"]
DAYS_START, DAYS_END = date(2024, 1, 1), date(2024, 1, 31)
LEVEL = {"EURUSD": 1.09, "GBPUSD": 1.27, "USDJPY": 144.5}


def rows(pair: str) -> list[str]:
    """Bars of ``pair`` on DAYS, each at its own level (so a mixed-up pair shows)."""
    out = []
    for i, day in enumerate(DAYS):
        close = LEVEL[pair] * (1 + i / 1000)
        out.append(f"{day},{close},{close * 1.002},{close * 0.997},{close}")
    return out


def closes(bars: pd.DataFrame) -> list[float]:
    return bars["close"].tolist()


def expected(pair: str) -> list[float]:
    return [LEVEL[pair] * (1 + i / 1000) for i in range(len(DAYS))]


def test_one_file_with_a_pair_column_gives_each_pairs_rows(tmp_path: Path) -> None:
    path = tmp_path / "book.csv"
    # Interleaved, newest first, and spelt three ways: the pair column is what counts.
    spelt = {"EURUSD": "EURUSD", "GBPUSD": "GBP/USD", "USDJPY": "usd_jpy"}
    lines = [f"{spelt[p]},{rows(p)[i]}" for i in (2, 1, 0) for p in LEVEL]
    path.write_text("\n".join(["pair,date,open,high,low,close", *lines]) + "\n")
    csv = make_source(f"csv:{path}", book=list(LEVEL))

    csv.check_pairs(list(LEVEL))
    for pair in LEVEL:
        bars = csv.fetch(DAYS_START, DAYS_END, pair)
        assert list(bars.columns) == BAR_COLUMNS
        assert list(bars["date"]) == list(pd.to_datetime(DAYS))
        assert closes(bars) == expected(pair)

    with pytest.raises(PairError) as excinfo:
        csv.check_pairs(["EURUSD", "AUDUSD", "NZDUSD"])
    assert str(excinfo.value) == (
        f"FX_SOURCE=csv:{path} cannot give AUDUSD: {path} has rows of EURUSD, GBPUSD, USDJPY only"
    )
    with pytest.raises(PairError, match="cannot give AUDUSD"):
        csv.fetch(DAYS_START, DAYS_END, "AUDUSD")


def test_one_file_per_pair_with_the_placeholder(tmp_path: Path) -> None:
    for pair in ("EURUSD", "GBPUSD"):
        (tmp_path / f"{pair}.csv").write_text("\n".join(["date,open,high,low,close", *rows(pair)]))
    (tmp_path / "notes.csv").write_text("not a pair")
    csv = make_source(f"csv:{tmp_path}/{{pair}}.csv", book=["EURUSD", "GBPUSD"])
    assert isinstance(csv, CsvSource)

    csv.check_pairs(["EURUSD", "gbp/usd"])
    assert closes(csv.fetch(DAYS_START, DAYS_END, "GBPUSD")) == expected("GBPUSD")
    assert closes(csv.fetch(DAYS_START, DAYS_END)) == expected("EURUSD")
    assert csv.first_date() == date(2024, 1, 2)

    with pytest.raises(PairError) as excinfo:
        csv.check_pairs(DEFAULT_BOOK)
    message = str(excinfo.value)
    assert message == (
        f"FX_SOURCE=csv:{tmp_path}/{{pair}}.csv cannot give USDJPY: there is no file "
        f"{tmp_path}/USDJPY.csv; the files there give EURUSD, GBPUSD"
    )


def test_a_file_without_a_pair_column_serves_a_one_pair_book(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_text("\n".join(["date,open,high,low,close", *rows("GBPUSD")]) + "\n")

    one = make_source(f"csv:{path}", book=["GBPUSD"])
    one.check_pairs(["GBPUSD"])
    assert closes(one.fetch(DAYS_START, DAYS_END, "GBPUSD")) == expected("GBPUSD")
    with pytest.raises(PairError) as other:
        one.fetch(DAYS_START, DAYS_END, "EURUSD")
    assert str(other.value).endswith(
        f"cannot give EURUSD: {path} has no pair column, so it holds the book's one pair, GBPUSD"
    )

    # The seed's call, with no book: the file is EUR/USD, as it always was.
    assert len(CsvSource(path).fetch(DAYS_START, DAYS_END)) == 3

    many = make_source(f"csv:{path}", book=DEFAULT_BOOK)
    for ask in (lambda: many.check_pairs(DEFAULT_BOOK), lambda: many.fetch(DAYS_START, DAYS_END)):
        with pytest.raises(PairError) as excinfo:
            ask()
        message = str(excinfo.value)
        assert "\n" not in message
        assert "cannot give EURUSD" in message and "which one is unknown" in message
        assert "add a pair column, or write one file per pair with {pair} in the path" in message


def test_a_pair_column_with_a_non_pair_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "book.csv"
    good = rows("EURUSD")
    path.write_text(f"pair,date,open,high,low,close\nEURUSD,{good[0]}\nGOLD,{good[1]}\n")

    with pytest.raises(SourceError) as excinfo:
        CsvSource(path).fetch(DAYS_START, DAYS_END)

    assert str(excinfo.value) == (
        f"CSV source {path}: pair 'GOLD' on line(s) 3 is not a currency pair; "
        "write six letters like EURUSD"
    )
