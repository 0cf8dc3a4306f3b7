"""ETL assets materialized for real, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from dagster import DagsterInstance, build_schedule_context, materialize
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from fx_assets.assets.etl import (
    ETL_ASSETS,
    ETL_CHECKS,
    TRADING_DAYS,
    eur_usd_raw,
)
from fx_assets.features import FEATURES, TARGET
from fx_assets.jobs import ETL_CRON, etl_partition_for, etl_schedule
from fx_assets.resources import MarketDataResource, WarehouseResource
from fx_assets.warehouse import Warehouse


def resources(url: str, source: str = "ecb") -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(url=url),
        "market_data": MarketDataResource(source=source),
    }


def run_range(url: str, start: str, end: str, *, source: str = "ecb", assets=None):  # type: ignore[no-untyped-def]
    return materialize(
        [*(assets or ETL_ASSETS), *ETL_CHECKS] if assets is None else assets,
        resources=resources(url, source),
        instance=DagsterInstance.ephemeral(),
        tags={ASSET_PARTITION_RANGE_START_TAG: start, ASSET_PARTITION_RANGE_END_TAG: end},
        raise_on_error=False,
    )


def snapshot(url: str) -> dict[str, pd.DataFrame]:
    wh = Warehouse(url)
    frames = {t: wh.read(t) for t in ("eur_usd_raw", "eur_usd_staging", "eur_usd_final")}
    frames["eur_usd_raw"] = frames["eur_usd_raw"].drop(columns="ingested_at")
    return frames


def test_etl_fills_three_tables_from_the_ecb_range(warehouse_url: str) -> None:
    result = run_range(warehouse_url, "2023-01-02", "2023-12-29")
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} == {c.check_key.name for c in ETL_CHECKS}
    assert all(c.passed for c in checks)

    wh = Warehouse(warehouse_url)
    raw = wh.read("eur_usd_raw")
    # 2023 had 255 ECB fixings (no fixing on TARGET holidays such as Good Friday).
    assert len(raw) == 255
    assert raw["date"].min() == pd.Timestamp("2023-01-02")
    assert raw["date"].dt.dayofweek.max() <= 4
    assert raw[["open", "high", "low"]].isna().all().all()  # ECB: close only, nothing invented
    assert (raw["source"] == "ecb").all()
    assert pd.Timestamp("2023-04-07") not in set(raw["date"])  # Good Friday

    final = wh.read("eur_usd_final")
    assert final[FEATURES].notna().all().all()
    assert final[TARGET].isna().sum() == 1 and pd.isna(final[TARGET].iloc[-1])
    assert final["date"].iloc[-1] == raw["date"].iloc[-1]
    assert len(final) == len(raw) - 60  # the 60-day windows need their warm-up

    materializations = result.asset_materializations_for_node("eur_usd_raw")
    # One materialization per trading-day partition, holidays included (as zero rows).
    assert len(materializations) == len(pd.bdate_range("2023-01-02", "2023-12-29")) == 260
    final_meta = result.asset_materializations_for_node("eur_usd_final")[0].metadata
    assert final_meta["dagster/row_count"].value == len(final)
    assert final_meta["last_date"].value == "2023-12-29"
    assert "| date |" in final_meta["preview"].value


def test_rematerializing_leaves_the_same_rows(warehouse_url: str) -> None:
    assert run_range(warehouse_url, "2023-01-02", "2023-06-30").success
    before = snapshot(warehouse_url)
    # The same range again, then one partition inside it again: nothing moves.
    assert run_range(warehouse_url, "2023-01-02", "2023-06-30").success
    assert materialize(
        [*ETL_ASSETS, *ETL_CHECKS],
        resources=resources(warehouse_url),
        instance=DagsterInstance.ephemeral(),
        partition_key="2023-03-15",
    ).success
    after = snapshot(warehouse_url)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], check_exact=True, obj=table)


def test_a_holiday_partition_materializes_as_zero_rows(fx_home: Path) -> None:
    url = f"sqlite:///{fx_home / 'wh.db'}"
    result = materialize(
        [eur_usd_raw],
        resources=resources(url),
        instance=DagsterInstance.ephemeral(),
        partition_key="2023-12-25",
    )
    assert result.success
    meta = result.asset_materializations_for_node("eur_usd_raw")[0].metadata
    assert meta["dagster/row_count"].value == 0
    assert Warehouse(url).count("eur_usd_raw") == 0


def test_a_bad_batch_fails_names_the_rows_and_writes_nothing(fx_home: Path) -> None:
    url = f"sqlite:///{fx_home / 'wh.db'}"
    good = run_range(url, "2023-01-02", "2023-03-31")
    assert good.success
    before = snapshot(url)
    csv = fx_home / "bad.csv"
    csv.write_text(
        "date,open,high,low,close\n"
        "2023-04-03,1.08,1.09,1.07,1.085\n"
        "2023-04-04,1.085,1.09,1.08,1.60\n"  # a 39% jump: a bad tick
        "2023-04-05,1.09,1.10,1.08,1.095\n"
    )
    bad = run_range(url, "2023-04-03", "2023-04-05", source=f"csv:{csv}")
    assert not bad.success
    failure = next(e for e in bad.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "plausible_daily_move" in message and "2023-04-04" in message
    assert "2023-04-03" not in message.split("plausible_daily_move")[1].split(";")[0]
    after = snapshot(url)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], obj=table)


def test_partitions_are_weekdays_only() -> None:
    keys = TRADING_DAYS.get_partition_keys(current_time=datetime(1999, 1, 20, tzinfo=UTC))
    assert keys[0] == "1999-01-04"
    assert all(date.fromisoformat(k).weekday() < 5 for k in keys)
    assert "1999-01-09" not in keys and "1999-01-08" in keys and "1999-01-11" in keys


@pytest.mark.parametrize(
    ("run_day", "expected"),
    [
        ("2024-03-26", "2024-03-25"),  # Tuesday: Monday
        ("2024-03-30", "2024-03-29"),  # Saturday: Friday (Good Friday: an empty partition)
        ("2024-04-01", "2024-03-29"),  # Easter Monday: still Friday, the weekend skipped
        ("2024-12-26", "2024-12-25"),  # Boxing Day: Christmas Day, no fixing, zero rows
    ],
)
def test_schedule_picks_the_newest_completed_trading_day(run_day: str, expected: str) -> None:
    when = datetime.fromisoformat(run_day).replace(hour=6, minute=30, tzinfo=UTC)
    request = etl_schedule(build_schedule_context(scheduled_execution_time=when))
    assert request.partition_key == expected == etl_partition_for(when.date())
    # The key exists in the partitions on that morning (Saturday included).
    assert expected in TRADING_DAYS.get_partition_keys(current_time=when)


def test_schedule_runs_monday_to_saturday_utc() -> None:
    from dagster._utils.schedules import cron_string_iterator

    assert etl_schedule.cron_schedule == ETL_CRON
    assert etl_schedule.execution_timezone == "UTC"
    ticks = cron_string_iterator(datetime(2024, 3, 24, tzinfo=UTC).timestamp(), ETL_CRON, "UTC")
    days = {next(ticks).strftime("%a") for _ in range(14)}
    assert days == {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}


def test_definitions_load() -> None:
    from dagster import Definitions

    from fx_assets.definitions import defs

    Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("etl_job") is not None
    assert {s.name for s in defs.schedules} >= {"etl_schedule"}
