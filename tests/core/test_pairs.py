"""Pairs: one spelling, the seed's registered name for EUR/USD, the JPY pip, and one-line errors."""

import pytest

from fx_assets.core.pairs import DEFAULT_BOOK, Pair, PairError, parse_book
from fx_assets.core.settings import ConfigError, Settings


def test_the_first_pair_keeps_the_seed_model_name_and_jpy_quotes_have_a_wider_pip() -> None:
    assert Pair.parse("EURUSD").model_name == "eur_usd_direction"
    assert Pair.parse("usd/jpy").model_name == "usd_jpy_direction"
    assert Pair.parse("USDJPY").pip == 0.01
    assert Pair.parse("GBP_USD").pip == 0.0001
    assert Pair.parse("AUDUSD").label == "AUD/USD"


@pytest.mark.parametrize("text", ["EURUS", "EUREUR", "EUR1SD", "", "EURUSDX"])
def test_a_bad_pair_is_one_line_naming_it(text: str) -> None:
    with pytest.raises(PairError, match="not a currency pair") as info:
        Pair.parse(text)
    assert "\n" not in str(info.value)


def test_the_book_is_ordered_without_repeats_and_defaults_to_the_seven_majors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert parse_book("gbpusd, EURUSD,GBP/USD") == ("GBPUSD", "EURUSD")
    monkeypatch.delenv("FX_PAIRS", raising=False)
    assert Settings().book == DEFAULT_BOOK
    assert DEFAULT_BOOK[0] == "EURUSD" and len(DEFAULT_BOOK) == 7
    monkeypatch.setenv("FX_PAIRS", "EURUSD,USDJPY")
    assert Settings().book == ("EURUSD", "USDJPY")


def test_a_bad_fx_pairs_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from fx_assets.core.settings import load_settings

    monkeypatch.setenv("FX_PAIRS", "EURUSD,XX")
    with pytest.raises(ConfigError, match="FX_PAIRS"):
        load_settings()
