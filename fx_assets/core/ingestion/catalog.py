"""Which source ``FX_SOURCE`` names: the one place the sources are chosen.

Apart from ``sources.py`` so that the sources import their shared parts from there and
nothing imports back (``twelvedata`` and ``ecb_live`` build on ``sources``; this module on
all three).
"""

from __future__ import annotations

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
) -> Source:
    """``ecb``, ``ecb-live``, ``twelvedata`` or ``csv:PATH`` (the value of ``FX_SOURCE``).

    ``ecb_url`` (FX_ECB_URL) and ``cache_dir`` (under FX_HOME, where the download is
    kept between runs) are for ``ecb-live``.
    """
    spec = spec.strip()
    if spec == "ecb":
        return EcbSource()
    if spec == "ecb-live":
        return EcbLiveSource(url=ecb_url, cache_dir=Path(cache_dir or ".fx/sources") / "ecb")
    if spec.startswith("csv:"):
        return CsvSource(spec[4:])
    if spec == "twelvedata":
        return TwelveDataSource(api_key=api_key, base_url=base_url)
    raise ConfigError(
        f"FX_SOURCE={spec!r} is not a source; use ecb, ecb-live, twelvedata or csv:PATH"
    )
