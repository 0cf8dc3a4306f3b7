"""Which source ``FX_SOURCE`` names: the one place the sources are chosen.

Apart from ``sources.py`` so that the sources import their shared parts from there and
nothing imports back (``twelvedata`` and ``ecb_live`` build on ``sources``; this module on
all three).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fx_assets.core.ingestion.ecb_live import EcbLiveSource
from fx_assets.core.ingestion.sources import CsvSource, EcbSource, Source
from fx_assets.core.ingestion.twelvedata import TwelveDataSource
from fx_assets.core.settings import ConfigError


def make_source(
    spec: str,
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    ecb_url: str | None = None,
    cache_dir: str | Path | None = None,
    book: Sequence[str] | None = None,
    requests_per_minute: int | None = None,
) -> Source:
    """``ecb``, ``ecb-live``, ``twelvedata`` or ``csv:PATH`` (the value of ``FX_SOURCE``).

    ``ecb_url`` (FX_ECB_URL) is for ``ecb-live``; ``cache_dir`` ($FX_HOME/sources) is where
    ``ecb-live`` keeps its download and ``twelvedata`` its request ledger (the budget of
    ``requests_per_minute``, FX_TWELVEDATA_REQUESTS_PER_MINUTE, shared by every process on
    it). ``book`` (FX_PAIRS) tells ``csv:`` which pair a file without a ``pair`` column
    holds when the book has one pair; without it, such a file is EUR/USD, as in the seed.
    """
    spec = spec.strip()
    if spec == "ecb":
        return EcbSource()
    if spec == "ecb-live":
        return EcbLiveSource(url=ecb_url, cache_dir=Path(cache_dir or ".fx/sources") / "ecb")
    if spec.startswith("csv:"):
        return CsvSource(spec[4:], book=book)
    if spec == "twelvedata":
        return TwelveDataSource(
            api_key=api_key,
            base_url=base_url,
            cache_dir=Path(cache_dir) if cache_dir else None,
            requests_per_minute=requests_per_minute,
        )
    raise ConfigError(
        f"FX_SOURCE={spec!r} is not a source; use ecb, ecb-live, twelvedata or csv:PATH"
    )
