"""Currency pairs: the one place a pair's name, registry name and pip are spelled.

A pair is written as six letters, base then quote (``EURUSD``: the price of one euro in
dollars). Everything keyed by pair (table rows, partitions, registered models, routes,
URLs) uses that spelling; the registered model is ``<base>_<quote>_direction`` so that
the first pair keeps the seed's ``eur_usd_direction``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The seven USD majors, EUR/USD first (the default view everywhere).
DEFAULT_BOOK = ("EURUSD", "GBPUSD", "USDJPY", "USDCHF", "AUDUSD", "USDCAD", "NZDUSD")
DEFAULT_PAIR = DEFAULT_BOOK[0]

_PAIR = re.compile(r"^[A-Z]{3}[A-Z]{3}$")
# Quote currencies whose price has two decimals: their pip is 0.01, not 0.0001.
_TWO_DECIMAL_QUOTES = frozenset({"JPY", "HUF", "ISK", "KRW", "CZK"})


class PairError(ValueError):
    """A pair that is not six letters, or that the chosen source cannot give."""


@dataclass(frozen=True, order=True)
class Pair:
    """One currency pair, ``base`` priced in ``quote``."""

    base: str
    quote: str

    @classmethod
    def parse(cls, text: str) -> Pair:
        """``EURUSD``, ``eur/usd`` or ``EUR_USD``; anything else is a one-line PairError."""
        code = re.sub(r"[\s/_-]", "", text).upper()
        if not _PAIR.match(code) or code[:3] == code[3:]:
            raise PairError(f"{text!r} is not a currency pair; write six letters like EURUSD")
        return cls(code[:3], code[3:])

    @property
    def code(self) -> str:
        return f"{self.base}{self.quote}"

    @property
    def label(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def slug(self) -> str:
        """``eur_usd``: the prefix of the registered model and of the seed's table names."""
        return f"{self.base.lower()}_{self.quote.lower()}"

    @property
    def model_name(self) -> str:
        """The pair's registered model (``eur_usd_direction``)."""
        return f"{self.slug}_direction"

    @property
    def pip(self) -> float:
        """The price step costs are quoted in: 0.01 for JPY-quoted pairs, else 0.0001."""
        return 0.01 if self.quote in _TWO_DECIMAL_QUOTES else 0.0001

    def legs(self) -> tuple[str, str]:
        return (self.base, self.quote)

    def __str__(self) -> str:
        return self.code


def parse_book(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The pairs of ``FX_PAIRS`` (comma-separated) as codes, in order, without repeats."""
    items = text.split(",") if isinstance(text, str) else list(text)
    codes: list[str] = []
    for item in items:
        if not str(item).strip():
            continue
        code = Pair.parse(str(item)).code
        if code not in codes:
            codes.append(code)
    if not codes:
        raise PairError("FX_PAIRS names no pair; write e.g. EURUSD,GBPUSD,USDJPY")
    return tuple(codes)


def model_name(pair: str) -> str:
    """The registered model of ``pair`` (a code like ``GBPUSD``)."""
    return Pair.parse(pair).model_name
