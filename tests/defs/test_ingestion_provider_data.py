"""A real provider's series end to end through the ETL, by CSV and by the Twelve Data
stand-in: exactly the weekend bars and the bad tick end in fx_raw_rejected, features
are built on the accepted rows, the hole is a gap warning, and rematerializing a
partition with rejects leaves the same rows in both tables."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from dagster import AssetCheckSeverity
from pytest_httpserver import HTTPServer

from fx_assets.core.contracts import RAW, RAW_REJECTED, STAGING
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.resources import MarketDataResource, WarehouseResource
from tests.support.code_location import Runs, etl_and_features
from tests.support.market_data import provider_series, twelvedata_replay, write_provider_csv

KEY = "td-e2e-key-0c9b7a"
SERIES = provider_series()


def etl(url: str, market: MarketDataResource, years: tuple[str, str] = ("2007", "2026")) -> Runs:
    resources = {"warehouse": WarehouseResource(url=url), "market_data": market}
    return etl_and_features(resources, years)


def rejected_rules(url: str) -> dict[date, str]:
    rejected = Warehouse(url).read(RAW_REJECTED)
    return dict(zip(rejected["date"].dt.date, rejected["rule"], strict=True))


def assert_end_to_end(url: str, result, source: str) -> None:  # type: ignore[no-untyped-def]
    assert result.success
    wh = Warehouse(url)
    assert rejected_rules(url) == SERIES.quarantine_expected
    rejected = wh.read(RAW_REJECTED)
    assert (rejected["source"] == source).all() and rejected["reason"].str.len().gt(0).all()
    raw = wh.read(RAW)
    # Nothing the source sent is lost: each bar is in one of the two tables.
    assert len(raw) + len(rejected) == len(SERIES.bars)
    assert (raw["date"].dt.dayofweek < 5).all()
    # Features on the accepted rows only.
    assert list(wh.read(STAGING)["date"]) == list(raw["date"])
    checks = {c.check_name: c for c in result.checks()}
    gaps = checks[f"{RAW.name}_gaps"]
    assert not gaps.passed and gaps.severity == AssetCheckSeverity.WARN
    assert gaps.description == (
        "12 trading day(s) missing in 1 gap(s), newest: EURUSD 2015-06-08..2015-06-23"
        " (12 trading days)"
    )
    blocking = [
        c for n, c in checks.items() if n not in (f"{RAW.name}_gaps", f"{RAW.name}_freshness")
    ]
    assert blocking and all(c.passed for c in blocking)
    raw_events = [
        m
        for m in result.etl.asset_materializations_for_node(RAW.name)
        if m.asset_key.to_user_string() == RAW.name
    ]
    meta = raw_events[0].metadata
    assert meta["quarantine_weekend"].value == len(SERIES.weekend_dates)
    assert meta["quarantine_isolated_spike"].value == 1
    assert meta["quarantine_isolated_spike_dates"].value == "2008-03-12"


def test_a_provider_csv_runs_end_to_end(warehouse_url: str, tmp_path: Path) -> None:
    path = write_provider_csv(SERIES, tmp_path / "EUR_USD_1day.csv")

    result = etl(warehouse_url, MarketDataResource(source=f"csv:{path}"))

    assert_end_to_end(warehouse_url, result, "csv")


def test_the_same_series_from_twelvedata_runs_end_to_end(
    warehouse_url: str,
    httpserver: HTTPServer,
    local_http_sources: None,
) -> None:
    httpserver.expect_request("/time_series").respond_with_handler(
        twelvedata_replay(SERIES.bars, api_key=KEY)
    )
    market = MarketDataResource(
        source="twelvedata", twelvedata_api_key=KEY, twelvedata_base_url=httpserver.url_for("")
    )

    result = etl(warehouse_url, market)

    assert_end_to_end(warehouse_url, result, "twelvedata")


def test_rematerializing_partitions_with_rejects_leaves_the_same_rows(
    warehouse_url: str, tmp_path: Path
) -> None:
    market = MarketDataResource(source=f"csv:{write_provider_csv(SERIES, tmp_path / 'p.csv')}")
    assert etl(warehouse_url, market).success

    def both() -> dict[str, pd.DataFrame]:
        wh = Warehouse(warehouse_url)
        return {
            RAW.name: wh.read(RAW).drop(columns="ingested_at"),
            RAW_REJECTED.name: wh.read(RAW_REJECTED).drop(columns="rejected_at"),
        }

    before = both()
    # The bad tick's year, the weekend bars' year, and the whole range again.
    for year in ("2008", "2026"):
        assert etl(warehouse_url, market, (year, year)).success
    assert etl(warehouse_url, market).success

    after = both()
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], check_exact=True, obj=table)
    assert len(after[RAW_REJECTED.name]) == len(SERIES.quarantine_expected)


def test_a_single_partition_judges_its_first_bar_against_the_year_before(
    warehouse_url: str, tmp_path: Path
) -> None:
    """The tick of 2008 is found when only 2008 is materialized after 2007 is stored."""
    market = MarketDataResource(source=f"csv:{write_provider_csv(SERIES, tmp_path / 'p.csv')}")
    assert etl(warehouse_url, market, ("2007", "2007")).success

    assert etl(warehouse_url, market, ("2008", "2008")).success

    assert rejected_rules(warehouse_url) == {date(2008, 3, 12): "isolated_spike"}
