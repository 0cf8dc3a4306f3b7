"""The dashboard's stale banner and data-quality line, read from a real warehouse."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from fx_assets.core.contracts import RAW, RAW_REJECTED
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.warehouse import Warehouse
from fx_dash.quality import data_status
from fx_dash.reader import load_snapshot

NOW = pd.Timestamp("2026-11-30 07:00", tz="UTC")


def fill(url: str, rejected: pd.DataFrame | None = None) -> None:
    wh = Warehouse(url).for_pair("EURUSD")
    bars = EcbSource().fetch(date(2026, 9, 1), date(2026, 12, 31))
    wh.replace_all(RAW, bars.assign(source="ecb", ingested_at=NOW))
    if rejected is not None:
        wh.replace_all(RAW_REJECTED, rejected.assign(source="csv", rejected_at=NOW))


def texts(parts: list) -> dict[str, str]:  # type: ignore[type-arg]
    return {p.id: p.children for p in parts}


def test_an_old_home_shows_the_stale_banner_and_the_quarantined_rules(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    rejected = pd.DataFrame(
        {
            "date": pd.to_datetime(["2008-03-12", "2025-11-01", "2025-11-08"]),
            "rule": ["isolated_spike", "weekend", "weekend"],
            "open": [1.7, 1.1, 1.1],
            "high": [1.8, 1.1, 1.1],
            "low": [1.6, 1.1, 1.1],
            "close": [1.75, 1.1, 1.1],
            "reason": ["spike", "dated Saturday", "dated Saturday"],
        }
    )
    fill(url, rejected)

    shown = texts(data_status(load_snapshot(url), 3, today=date(2026, 12, 1)))

    assert shown["stale-banner"].startswith(
        "Stale data: the newest bar is 2026-10-30, 21 trading days behind 2026-11-30"
    )
    assert "FX_SOURCE=ecb-live" in shown["stale-banner"]
    # Newest first: the weekend bars of 2025 before the 2008 tick.
    assert shown["data-quality"] == (
        "Data quality: 3 bar(s) quarantined: weekend 2 (newest 2025-11-08), "
        "isolated_spike 1 (newest 2008-03-12)."
    )


def test_a_current_home_has_no_banner(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wh.db'}"
    fill(url)

    shown = texts(data_status(load_snapshot(url), 3, today=date(2026, 11, 2)))

    assert "stale-banner" not in shown
    assert shown["data-quality"] == "Data quality: no bar quarantined."


def test_an_empty_warehouse_shows_neither(tmp_path: Path) -> None:
    assert data_status(load_snapshot(f"sqlite:///{tmp_path / 'none.db'}"), 3) == []
