"""Every pair from the ECB's euro fixings: the crosses against a hand computation from the
raw CSV in the zip, a day with one leg missing, EUR/USD as it always was, the pairs the
file cannot give, and ``ecb-live`` giving crosses from a served zip."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from fx_assets.core.ingestion.catalog import make_source
from fx_assets.core.ingestion.ecb_live import EcbLiveSource
from fx_assets.core.ingestion.sources import BAR_COLUMNS, EcbSource
from fx_assets.core.pairs import DEFAULT_BOOK, PairError

# Dates across the history: the first fixing, the day before and the first day of ISK's
# ten-year gap (December 2008), a new year, the file's last day.
DATES = ["1999-01-04", "2008-12-09", "2008-12-10", "2024-01-02", "2026-10-30"]
PAIRS = [*DEFAULT_BOOK, "EURGBP", "GBPJPY", "CHFJPY", "USDISK", "GBPEUR"]


def raw_fixings(data: bytes) -> dict[str, dict[str, float | None]]:
    """date -> currency -> units per euro (None: no fixing), read with the csv module."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        text = zf.read("eurofxref-hist.csv").decode()
    table: dict[str, dict[str, float | None]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        day = row.pop("Date")
        table[day] = {
            cur: (None if value in ("N/A", "") else float(value))
            for cur, value in row.items()
            if cur
        }
    return table


def by_hand(fixings: dict[str, float | None], pair: str) -> float | None:
    """The price of the base in the quote: quote per euro over base per euro."""
    per_euro = {**fixings, "EUR": 1.0}
    base, quote = per_euro[pair[:3]], per_euro[pair[3:]]
    return None if base is None or quote is None else quote / base


@pytest.fixture(scope="module")
def raw() -> dict[str, dict[str, float | None]]:
    return raw_fixings(EcbSource.data_file().read_bytes())


def closes(bars: pd.DataFrame) -> dict[str, float]:
    return {f"{d:%Y-%m-%d}": c for d, c in zip(bars["date"], bars["close"], strict=True)}


@pytest.mark.parametrize("pair", PAIRS)
def test_each_pair_is_the_cross_of_the_same_days_fixings(
    raw: dict[str, dict[str, float | None]], pair: str
) -> None:
    bars = EcbSource().fetch(date(1999, 1, 1), date(2026, 12, 31), pair)

    assert list(bars.columns) == BAR_COLUMNS
    assert bars[["open", "high", "low"]].isna().all().all()
    got = closes(bars)
    for day in DATES:
        expected = by_hand(raw[day], pair)
        # Nothing is rounded: the same division of the same doubles, to the last bit.
        assert got.get(day) == expected, (pair, day)
    # And every day: a bar exactly where both fixings exist.
    expected_days = sorted(d for d, fx in raw.items() if by_hand(fx, pair) is not None)
    assert list(got) == expected_days


def test_a_day_without_one_leg_is_no_bar(raw: dict[str, dict[str, float | None]]) -> None:
    # The ECB published no ISK fixing from 2008-12-10 for ten years; USD every day.
    assert raw["2008-12-10"]["ISK"] is None and raw["2008-12-10"]["USD"] is not None

    usdisk = closes(EcbSource().fetch(date(2008, 12, 8), date(2008, 12, 12), "USDISK"))
    eurusd = closes(EcbSource().fetch(date(2008, 12, 8), date(2008, 12, 12), "EURUSD"))

    assert list(usdisk) == ["2008-12-08", "2008-12-09"]
    assert list(eurusd) == ["2008-12-08", "2008-12-09", "2008-12-10", "2008-12-11", "2008-12-12"]


def test_eur_usd_is_the_usd_column_as_before() -> None:
    """The bars the seed read (the ``USD`` column, days without it dropped) are unchanged."""
    with zipfile.ZipFile(EcbSource.data_file()) as zf:
        text = zf.read("eurofxref-hist.csv").decode()
    seed = pd.read_csv(io.StringIO(text), usecols=["Date", "USD"], na_values=["N/A"]).dropna()
    seed = seed.assign(Date=pd.to_datetime(seed["Date"])).sort_values("Date")

    for bars in (EcbSource().fetch(date(1999, 1, 1), date(2100, 1, 1)), EcbSource.history()):
        assert bars["date"].tolist() == seed["Date"].tolist()
        assert np.array_equal(bars["close"].to_numpy(), seed["USD"].to_numpy())


def test_the_default_book_is_available_and_others_are_refused_in_one_line() -> None:
    ecb = EcbSource()
    ecb.check_pairs(DEFAULT_BOOK)
    ecb.check_pairs(["EURGBP", "chf/jpy", "USD_ISK"])

    with pytest.raises(PairError) as unknown:
        ecb.check_pairs(["EURUSD", "XAUUSD", "EURBTC"])
    message = str(unknown.value)
    assert "\n" not in message
    assert message.startswith("FX_SOURCE=ecb cannot give XAUUSD: the ECB fixes no XAU; ")
    # The 29 the ECB still fixes (41 columns less 12 retired: CYP, ..., BGN, HRK, RUB).
    offer = "it has the euro fixings of 29 currencies, so any pair of two of EUR, AUD, BRL"
    assert offer in message and message.endswith(", TRY, USD, ZAR")
    assert "BGN" not in message and "RUB" not in message

    # Bulgaria joined the euro: BGN's fixings end with 2025, so the pair would go stale.
    with pytest.raises(PairError, match=r"cannot give EURBGN: the ECB stopped fixing BGN after"):
        ecb.check_pairs(["EURBGN"])
    with pytest.raises(PairError, match="cannot give XAUUSD"):
        ecb.fetch(date(2024, 1, 1), date(2024, 1, 31), "XAUUSD")


# --- ecb-live: the same crosses from the downloaded file -----------------------------------
def served_zip() -> bytes:
    """The bundled file with two newer days on top: all fixings on 2 November, and GBP
    missing on 3 November."""
    with zipfile.ZipFile(EcbSource.data_file()) as zf:
        text = zf.read("eurofxref-hist.csv").decode()
    header, newest, *rest = text.splitlines()
    cells = newest.split(",")
    names = header.split(",")
    nov2 = [
        "2026-11-02",
        *(f"{float(c) * 1.01:.4f}" if c not in ("N/A", "") else c for c in cells[1:]),
    ]
    nov3 = list(nov2)
    nov3[0], nov3[names.index("GBP")] = "2026-11-03", "N/A"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(
            "eurofxref-hist.csv",
            "\n".join([header, ",".join(nov3), ",".join(nov2), newest, *rest]) + "\n",
        )
    return buffer.getvalue()


def test_ecb_live_gives_crosses_from_the_served_file(
    httpserver: HTTPServer, tmp_path: Path
) -> None:
    body = served_zip()
    httpserver.expect_request("/hist.zip").respond_with_data(body, content_type="application/zip")
    live = make_source("ecb-live", ecb_url=httpserver.url_for("/hist.zip"), cache_dir=tmp_path)
    assert isinstance(live, EcbLiveSource)
    served = raw_fixings(body)

    live.check_pairs(DEFAULT_BOOK)
    gbpusd = closes(live.fetch(date(2026, 10, 29), date(2026, 11, 30), "GBPUSD"))
    usdjpy = closes(live.fetch(date(2026, 10, 29), date(2026, 11, 30), "USDJPY"))

    assert live.fallback is None and live.origin == "downloaded from localhost"
    assert list(gbpusd) == ["2026-10-29", "2026-10-30", "2026-11-02"]
    assert list(usdjpy) == ["2026-10-29", "2026-10-30", "2026-11-02", "2026-11-03"]
    for day, close in [*gbpusd.items()]:
        assert close == by_hand(served[day], "GBPUSD")
    assert usdjpy["2026-11-03"] == by_hand(served["2026-11-03"], "USDJPY")
    # One download serves every pair of the book.
    assert len(httpserver.log) == 1
