"""ETL assets materialized for real, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextvars
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    DagsterInstance,
    ExecuteInProcessResult,
    SkipReason,
    build_schedule_context,
    materialize,
)

from fx_assets.core.contracts import FINAL, RAW, STAGING
from fx_assets.core.domain import FEATURES, TARGET
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.ingestion.assets import fx_raw
from fx_assets.defs.ingestion.partitions import TRADING_YEARS, raw_key, trading_year_partitions
from fx_assets.defs.ingestion.schedules import ETL_CRON, etl_partition_for, etl_schedule
from fx_assets.defs.resources import MarketDataResource, WarehouseResource
from tests.support.code_location import book_range, checks_of, in_groups, register_pairs

ASSET_PARTITION_RANGE_START = "dagster/asset_partition_range_start"
ASSET_PARTITION_RANGE_END = "dagster/asset_partition_range_end"


def resources(url: str, source: str = "ecb", first: str | None = None) -> dict[str, object]:
    return {
        "warehouse": WarehouseResource(url=url),
        "market_data": MarketDataResource(source=source, start_date=first),
    }


class Runs:
    """The ETL run (fx_raw for the book's years) and the features run of each pair."""

    def __init__(self, etl: ExecuteInProcessResult, features: list[ExecuteInProcessResult]):
        self.etl, self.features = etl, features
        self.success = etl.success and all(f.success for f in features)

    def checks(self) -> list[AssetCheckEvaluation]:
        return [c for r in (self.etl, *self.features) for c in r.get_asset_check_evaluations()]


def run_range(
    url: str,
    start: str,
    end: str,
    *,
    source: str = "ecb",
    first: str | None = None,
    pairs: tuple[str, ...] = ("EURUSD",),
    instance: DagsterInstance | None = None,
) -> Runs:
    """Materialize the years ``start``..``end`` of ``pairs`` in one run, then each pair's
    features."""
    instance = instance or DagsterInstance.ephemeral()
    register_pairs(instance, pairs)
    res = resources(url, source, first)
    etl = materialize(
        in_groups("ingestion"),
        resources=res,
        instance=instance,
        tags=book_range(pairs, start, end),
        raise_on_error=False,
    )
    if not etl.success:
        return Runs(etl, [])
    features = [
        materialize(in_groups("features"), resources=res, instance=instance, partition_key=pair)
        for pair in pairs
    ]
    return Runs(etl, features)


def raw_materializations(result):  # type: ignore[no-untyped-def]
    """The node also materializes fx_raw_rejected: only fx_raw's events."""
    return [
        m
        for m in result.asset_materializations_for_node(RAW.name)
        if m.asset_key.to_user_string() == RAW.name
    ]


def snapshot(url: str) -> dict[str, pd.DataFrame]:
    wh = Warehouse(url)
    frames = {t.name: wh.read(t) for t in (RAW, STAGING, FINAL)}
    frames[RAW.name] = frames[RAW.name].drop(columns="ingested_at")
    return frames


def test_etl_fills_three_tables_from_the_ecb_range(warehouse_url: str) -> None:
    result = run_range(warehouse_url, "2023", "2023")
    assert result.success
    checks = result.checks()
    assert {c.check_name for c in checks} == {
        k.name for c in checks_of("ingestion", "features") for k in c.check_keys
    }
    # Every blocking check passes; the freshness warning says 2023's bars are old.
    assert all(c.passed for c in checks if c.check_name != f"{RAW.name}_freshness")
    (fresh,) = [c for c in checks if c.check_name == f"{RAW.name}_freshness"]
    assert not fresh.passed and fresh.severity == AssetCheckSeverity.WARN
    assert fresh.description.startswith("data is stale: newest bar 2023-12-29")

    wh = Warehouse(warehouse_url)
    raw = wh.read(RAW)
    # 2023 had 255 ECB fixings (no fixing on TARGET holidays such as Good Friday).
    assert len(raw) == 255
    assert raw["date"].min() == pd.Timestamp("2023-01-02")
    assert raw["date"].dt.dayofweek.max() <= 4
    assert raw[["open", "high", "low"]].isna().all().all()  # ECB: close only, nothing invented
    assert (raw["source"] == "ecb").all()
    assert pd.Timestamp("2023-04-07") not in set(raw["date"])  # Good Friday

    final = wh.read(FINAL)
    assert final[FEATURES].notna().all().all()
    assert final[TARGET].isna().sum() == 1 and pd.isna(final[TARGET].iloc[-1])
    assert final["date"].iloc[-1] == raw["date"].iloc[-1]
    assert len(final) == len(raw) - 60  # the 60-day windows need their warm-up

    (materialization,) = raw_materializations(result.etl)
    assert materialization.partition == raw_key("EURUSD", "2023")
    assert materialization.metadata["dagster/row_count"].value == 255
    final_meta = result.features[0].asset_materializations_for_node(FINAL.name)[0].metadata
    assert final_meta["dagster/row_count"].value == len(final)
    assert final_meta["last_date"].value == "2023-12-29"
    assert "| date |" in final_meta["preview"].value


def test_a_range_of_years_is_one_run_from_the_start_date(warehouse_url: str) -> None:
    result = run_range(warehouse_url, "2021", "2023", first="2021-06-01")
    assert result.success
    raw = Warehouse(warehouse_url).read(RAW)
    # FX_START_DATE cuts the first year; the years after it are whole.
    assert raw["date"].min() == pd.Timestamp("2021-06-01")
    assert raw["date"].max() == pd.Timestamp("2023-12-29")
    parts = raw_materializations(result.etl)
    assert sorted(m.partition for m in parts) == [
        raw_key("EURUSD", y) for y in ("2021", "2022", "2023")
    ]
    assert {m.metadata["batch_row_count"].value for m in parts} == {len(raw)}


def test_rematerializing_leaves_the_same_rows(warehouse_url: str) -> None:
    assert run_range(warehouse_url, "2022", "2023", first="2022-06-01").success
    before = snapshot(warehouse_url)
    # The same range again, then one partition inside it again: nothing moves.
    assert run_range(warehouse_url, "2022", "2023", first="2022-06-01").success
    instance = DagsterInstance.ephemeral()
    register_pairs(instance)
    assert materialize(
        in_groups("ingestion"),
        resources=resources(warehouse_url, first="2022-06-01"),
        instance=instance,
        partition_key=raw_key("EURUSD", "2023"),
    ).success
    assert materialize(
        in_groups("features"),
        resources=resources(warehouse_url, first="2022-06-01"),
        instance=instance,
        partition_key="EURUSD",
    ).success
    after = snapshot(warehouse_url)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], check_exact=True, obj=table)


def test_a_partition_with_no_bar_materializes_as_zero_rows(fx_home: Path) -> None:
    # As on 2 January, when the new year's partition has no fixing yet.
    csv = fx_home / "bars.csv"
    csv.write_text("date,open,high,low,close\n2023-01-02,1.07,1.08,1.06,1.075\n")
    url = f"sqlite:///{fx_home / 'wh.db'}"
    instance = DagsterInstance.ephemeral()
    register_pairs(instance)
    result = materialize(
        [fx_raw],
        resources=resources(url, source=f"csv:{csv}"),
        instance=instance,
        partition_key=raw_key("EURUSD", "2022"),
    )
    assert result.success
    meta = raw_materializations(result)[0].metadata
    assert meta["dagster/row_count"].value == 0
    assert Warehouse(url).count(RAW) == 0


def test_a_bad_batch_fails_names_the_rows_and_writes_nothing(fx_home: Path) -> None:
    url = f"sqlite:///{fx_home / 'wh.db'}"
    good = run_range(url, "2023", "2023")
    assert good.success
    before = snapshot(url)
    csv = fx_home / "bad.csv"
    csv.write_text(
        "date,open,high,low,close\n"
        "2023-04-03,1.08,1.09,1.07,1.085\n"
        "2023-04-04,1.085,1.09,1.08,1.60\n"  # a 39% jump: a bad tick
        "2023-04-05,1.09,1.10,1.08,1.095\n"
    )
    bad = run_range(url, "2023", "2023", source=f"csv:{csv}")
    assert not bad.success
    failure = next(e for e in bad.etl.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    # The 39 % jump and back is quarantined as a spike, which is a third of this batch:
    # too many for a feed to be trusted, so the batch fails as a whole, naming the pair.
    assert "Failure: EURUSD: " in message
    assert "rejected_share: 1 of 3 weekday bars" in message and "2023-04-04" in message
    assert "2023-04-03" not in message and "2023-04-05" not in message
    after = snapshot(url)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], obj=table)


def test_partitions_are_years_up_to_the_current_one() -> None:
    keys = TRADING_YEARS.get_partition_keys(current_time=datetime(2026, 11, 26, tzinfo=UTC))
    assert keys[0] == "1999" and keys[-1] == "2026" and len(keys) == 28
    window = TRADING_YEARS.time_window_for_partition_key("2024")
    assert (window.start.date(), window.end.date()) == (date(2024, 1, 1), date(2025, 1, 1))
    # FX_START_DATE moves the first partition to its year.
    assert trading_year_partitions(date(2025, 10, 1)).get_first_partition_key() == "2025"


def evaluate(schedule, instance: DagsterInstance, when: datetime):  # type: ignore[no-untyped-def]
    """The schedule's tick on ``instance``, in a copy of the context: evaluating it leaves
    the instance's definitions state installed, which would outlive the instance."""

    def tick():  # type: ignore[no-untyped-def]
        return schedule(build_schedule_context(instance=instance, scheduled_execution_time=when))

    return contextvars.copy_context().run(tick)


@pytest.mark.parametrize(
    ("run_day", "trading_day"),
    [
        ("2024-03-26", "2024-03-25"),  # Tuesday: Monday
        ("2024-03-30", "2024-03-29"),  # Saturday: Friday (Good Friday: no fixing)
        ("2024-04-01", "2024-03-29"),  # Easter Monday: still Friday, the weekend skipped
        ("2025-01-01", "2024-12-31"),  # New Year's Day: last year's partition
        ("2027-01-04", "2027-01-01"),  # Monday: Friday, a new year with no fixing yet
    ],
)
def test_schedule_picks_the_newest_completed_trading_day(
    run_day: str, trading_day: str, tmp_path: Path
) -> None:
    when = datetime.fromisoformat(run_day).replace(hour=6, minute=30, tzinfo=UTC)
    # A persistent instance: a schedule's context needs an instance it can refer to.
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        register_pairs(instance, ("EURUSD", "GBPUSD", "USDJPY"))
        request = evaluate(etl_schedule, instance, when)
    expected = trading_day[:4]
    assert expected == etl_partition_for(when.date())
    # One run for the whole book's year: from the first pair's to the last pair's.
    assert request.tags[ASSET_PARTITION_RANGE_START] == f"EURUSD|{expected}"
    assert request.tags[ASSET_PARTITION_RANGE_END] == f"USDJPY|{expected}"
    # One run per trading day although the partition (its year) repeats all year.
    assert request.run_key == trading_day
    # The key exists in the partitions on that morning (1 January and Saturday included).
    assert expected in TRADING_YEARS.get_partition_keys(current_time=when)


def test_the_schedule_waits_for_the_first_pair(tmp_path: Path) -> None:
    when = datetime(2024, 3, 26, 6, 30, tzinfo=UTC)
    with DagsterInstance.local_temp(str(tmp_path)) as instance:
        assert isinstance(evaluate(etl_schedule, instance, when), SkipReason)


def test_schedule_runs_monday_to_saturday_utc() -> None:
    from dagster._utils.schedules import cron_string_iterator

    assert etl_schedule.cron_schedule == ETL_CRON
    assert etl_schedule.execution_timezone == "UTC"
    ticks = cron_string_iterator(datetime(2024, 3, 24, tzinfo=UTC).timestamp(), ETL_CRON, "UTC")
    days = {next(ticks).strftime("%a") for _ in range(14)}
    assert days == {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}


BOOK = ("EURUSD", "GBPUSD", "USDJPY")


def test_the_book_is_one_run_and_each_pair_is_rebuilt_alone(warehouse_url: str) -> None:
    result = run_range(warehouse_url, "2023", "2024", pairs=BOOK)
    assert result.success
    wh = Warehouse(warehouse_url)
    assert wh.pairs(RAW) == sorted(BOOK)
    parts = raw_materializations(result.etl)
    assert sorted(m.partition for m in parts) == sorted(
        raw_key(p, y) for p in BOOK for y in ("2023", "2024")
    )
    # USD/JPY is the cross of two euro fixings: yen per euro over dollars per euro.
    eur = wh.read(RAW, pair="EURUSD").set_index("date")["close"]
    jpy = wh.read(RAW, pair="USDJPY").set_index("date")["close"]
    assert 100 < jpy.median() < 200
    assert len(jpy) == len(eur) and (jpy.index == eur.index).all()
    for pair in BOOK:
        final = wh.read(FINAL, pair=pair)
        assert len(final) == len(wh.read(RAW, pair=pair)) - 60
    before = snapshot(warehouse_url)

    # One pair's partitions again: its rows are the same, the others' are not touched.
    instance = DagsterInstance.ephemeral()
    register_pairs(instance, BOOK)
    res = resources(warehouse_url)
    again = materialize(
        in_groups("ingestion"),
        resources=res,
        instance=instance,
        tags=book_range(("GBPUSD",), "2023", "2024"),
    )
    assert again.success
    assert materialize(
        in_groups("features"), resources=res, instance=instance, partition_key="GBPUSD"
    ).success
    after = snapshot(warehouse_url)
    for table, frame in before.items():
        pd.testing.assert_frame_equal(frame, after[table], check_exact=True, obj=table)


def test_a_pair_the_source_cannot_give_is_one_line_naming_it(warehouse_url: str) -> None:
    result = run_range(warehouse_url, "2024", "2024", pairs=("EURUSD", "XAUUSD"))
    assert not result.success
    failure = next(e for e in result.etl.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "XAUUSD" in message and "EURUSD" not in message.split("XAUUSD")[0][-40:]
    assert Warehouse(warehouse_url).count(RAW) == 0
