"""The fx_predictions asset (one pair a partition), materialized for real against a real
registry."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from dagster import DagsterInstance, materialize
from hypothesis import given, settings
from hypothesis import strategies as st

from fx_assets.core.calendar import next_weekday
from fx_assets.core.contracts import FINAL, PREDICTIONS, DataValidationError
from fx_assets.core.models import registry
from fx_assets.core.models.inference import (
    ModelInfo,
    ServiceScorer,
    ServiceUnavailableError,
    build_predictions,
    dates_to_predict,
)
from fx_assets.core.models.ranges import caution, from_column
from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.contracts import check_stored
from fx_assets.defs.inference.assets import fx_predictions
from fx_assets.defs.inference.checks import fx_predictions_schema
from fx_assets.defs.resources import MlflowResource, ModelServiceResource, WarehouseResource
from tests.support.champions import (
    CUTOFF,
    END,
    START,
    fill_warehouse,
    free_port,
    mlflow_db_template,  # noqa: F401  (fixture)
    register_champion,
    seed_home,
)
from tests.support.code_location import register_pairs


@pytest.fixture
def home(fx_home: Path, mlflow_db_template: Path) -> Path:  # noqa: F811
    seed_home(fx_home, mlflow_db_template)
    return fx_home


def run(url: str, pair: str = DEFAULT_PAIR):  # type: ignore[no-untyped-def]
    instance = DagsterInstance.ephemeral()
    register_pairs(instance, (pair,))
    return materialize(
        [fx_predictions, fx_predictions_schema],
        resources={
            "warehouse": WarehouseResource(url=url),
            "tracking_store": MlflowResource(tracking_uri=registry.tracking_uri()),
            "model_service": ModelServiceResource(),
        },
        instance=instance,
        partition_key=pair,
        raise_on_error=False,
    )


def stored(url: str, pair: str = DEFAULT_PAIR) -> pd.DataFrame:
    return Warehouse(url).read(PREDICTIONS, pair=pair)


def test_predictions_are_insert_only_and_start_after_the_cutoff(
    home: Path, warehouse_url: str
) -> None:
    final = fill_warehouse(warehouse_url, START, END)
    v1 = register_champion(final, CUTOFF)

    result = run(warehouse_url)
    assert result.success
    assert all(c.passed for c in result.get_asset_check_evaluations())
    first = stored(warehouse_url)
    expected_dates = final.loc[final["date"] > pd.Timestamp(CUTOFF), "date"]
    assert list(first["feature_date"]) == list(expected_dates)
    assert first["feature_date"].min() == pd.Timestamp("2024-07-01")  # never at or before
    assert first["feature_date"].max() == final["date"].max()  # the next-day forecast
    assert (first["model_version"] == v1).all()
    assert first["target_date"].tolist() == [
        pd.Timestamp(next_weekday(d.date())) for d in first["feature_date"]
    ]
    fridays = first[first["feature_date"].dt.dayofweek == 4]
    assert len(fridays) >= 10
    assert (fridays["target_date"] - fridays["feature_date"] == pd.Timedelta(days=3)).all()
    assert (first["target_date"].dt.dayofweek < 5).all()
    meta = result.asset_materializations_for_node(PREDICTIONS.name)[0].metadata
    assert meta["new_predictions"].value == len(first)
    assert meta["forecast_for"].value == "2024-10-01"

    # Rematerializing changes nothing, not even predicted_at.
    again = run(warehouse_url)
    assert again.success
    pd.testing.assert_frame_equal(stored(warehouse_url), first)
    meta = again.asset_materializations_for_node(PREDICTIONS.name)[0].metadata
    assert meta["new_predictions"].value == 0

    # A new champion and two more days: only the new dates are scored, by the new model.
    longer = fill_warehouse(warehouse_url, START, date(2024, 10, 2))
    v2 = register_champion(longer, CUTOFF, c=0.01)
    assert run(warehouse_url).success
    now = stored(warehouse_url)
    pd.testing.assert_frame_equal(now.iloc[: len(first)], first)
    added = now.iloc[len(first) :]
    assert list(added["feature_date"]) == [pd.Timestamp("2024-10-01"), pd.Timestamp("2024-10-02")]
    assert (added["model_version"] == v2).all()


def test_a_later_cutoff_means_no_prediction_for_dates_the_model_trained_on(home: Path) -> None:
    url = f"sqlite:///{home / 'warehouse.db'}"
    final = fill_warehouse(url, START, END)
    register_champion(final, date(2024, 9, 20))
    assert run(url).success
    dates = stored(url)["feature_date"]
    assert dates.min() == pd.Timestamp("2024-09-23")
    assert len(dates) == 6


def test_without_a_champion_the_run_fails_clearly_and_writes_nothing(home: Path) -> None:
    url = f"sqlite:///{home / 'warehouse.db'}"
    fill_warehouse(url, START, END)
    result = run(url)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "no champion model" in str(failure.step_failure_data.error.message)
    assert stored(url).empty


MODEL = ModelInfo("eur_usd_direction", "7", ("ret_1d",), date(2024, 6, 28))


def test_build_predictions_targets_the_next_trading_day_and_thresholds() -> None:
    rows = pd.DataFrame({"date": pd.to_datetime(["2024-07-04", "2024-07-05", "2024-07-08"])})
    out = build_predictions(rows, [0.5, 0.4999, 0.9], MODEL)
    assert out["target_date"].dt.strftime("%a %d").tolist() == ["Fri 05", "Mon 08", "Tue 09"]
    assert out["direction"].tolist() == [1, 0, 1]
    PREDICTIONS.validate(out)


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        ("probability_up", 1.2, "in_range"),
        ("direction", 0, "direction_matches_threshold"),
        ("model_version", " ", "non_empty"),
        ("target_date", pd.Timestamp("2024-07-04"), "target_after_feature_date"),
    ],
)
def test_bad_prediction_rows_never_pass_the_schema(column: str, value: object, check: str) -> None:
    rows = pd.DataFrame({"date": pd.to_datetime(["2024-07-04", "2024-07-05"])})
    out = build_predictions(rows, [0.7, 0.6], MODEL)
    out.loc[0, column] = value
    with pytest.raises(DataValidationError, match=check):
        PREDICTIONS.validate(out)


weekdays = st.dates(date(2024, 1, 1), date(2024, 12, 31)).filter(lambda d: d.weekday() < 5)


@settings(max_examples=200, deadline=None)
@given(
    dates=st.sets(weekdays, min_size=1, max_size=40),
    stored_dates=st.sets(weekdays, max_size=40),
    cutoff=st.dates(date(2023, 12, 1), date(2025, 1, 31)),
)
def test_dates_to_predict_is_exactly_the_unpredicted_dates_after_the_cutoff(
    dates: set[date], stored_dates: set[date], cutoff: date
) -> None:
    final = pd.DataFrame({"date": pd.to_datetime(sorted(dates))})
    picked = {d.date() for d in dates_to_predict(final, stored_dates, cutoff)["date"]}
    assert picked == {d for d in dates if d > cutoff and d not in stored_dates}
    assert all(d - timedelta(days=0) > cutoff for d in picked)


def test_an_unreachable_model_service_is_a_retryable_one_line_error() -> None:
    scorer = ServiceScorer(f"http://127.0.0.1:{free_port()}", token="secret-token", timeout=2)
    with pytest.raises(ServiceUnavailableError, match=r"unreachable.*fx api") as err:
        scorer.model()
    assert "secret-token" not in str(err.value)
    scorer.close()


def test_a_forecast_from_inputs_the_model_never_saw_says_so(home: Path, warehouse_url: str) -> None:
    final = fill_warehouse(warehouse_url, START, END)
    register_champion(final, CUTOFF)
    training = final[final["date"] <= pd.Timestamp(CUTOFF)]
    largest = float(training["vol_20"].max())
    # A hand-made newest row: its 20-day volatility 5.8 times the largest in training.
    planted = final.copy()
    planted.loc[planted.index[-1], "vol_20"] = 5.8 * largest
    Warehouse(warehouse_url).for_pair(DEFAULT_PAIR).replace_all(FINAL, planted)
    assert run(warehouse_url).success
    newest = stored(warehouse_url).iloc[-1]
    flags = from_column(newest["out_of_range"])
    assert flags["vol_20"] == {
        "side": "above", "value": 5.8 * largest, "limit": largest, "factor": 5.8
    }  # fmt: skip
    assert caution(flags).startswith(
        "; vol_20 is 5.8x the largest value the model was trained on"
    ) and caution(flags).endswith(": treat with caution")
    # A row inside every range stores nothing.
    inside = stored(warehouse_url)["out_of_range"].isna()
    assert inside.any()
    assert caution({}) == ""


def test_a_second_pair_is_forecast_by_its_own_champion_and_never_touches_the_first(
    home: Path, warehouse_url: str
) -> None:
    # Sources give EUR/USD only on this branch: GBP/USD's rows are written directly, a
    # shorter stretch so that its forecasts differ in dates from EUR/USD's.
    eur = fill_warehouse(warehouse_url, START, END)
    gbp = fill_warehouse(warehouse_url, START, date(2024, 8, 30), pair="GBPUSD")
    eur_version = register_champion(eur, CUTOFF)
    # No champion of GBP/USD yet: its run fails naming it, and never borrows EUR/USD's.
    failed = run(warehouse_url, "GBPUSD")
    assert not failed.success
    failure = next(e for e in failed.all_events if e.is_step_failure)
    message = str(failure.step_failure_data.user_failure_data.description)
    assert message.startswith("GBPUSD: no champion model: gbp_usd_direction@champion")
    assert stored(warehouse_url, "GBPUSD").empty

    assert run(warehouse_url).success
    first = stored(warehouse_url)
    gbp_version = register_champion(gbp, date(2024, 7, 31), c=0.01, pair="GBPUSD")
    result = run(warehouse_url, "GBPUSD")
    assert result.success
    assert all(c.passed for c in result.get_asset_check_evaluations())
    meta = result.asset_materializations_for_node(PREDICTIONS.name)[0].metadata
    assert meta["pair"].value == "GBPUSD"
    assert meta["model_name"].value == "gbp_usd_direction"

    pd.testing.assert_frame_equal(stored(warehouse_url), first)  # EUR/USD untouched
    theirs = stored(warehouse_url, "GBPUSD")
    assert (theirs["model_name"] == "gbp_usd_direction").all()
    assert (theirs["model_version"] == gbp_version).all()
    assert theirs["feature_date"].min() == pd.Timestamp("2024-08-01")  # after ITS cutoff
    assert theirs["feature_date"].max() == pd.Timestamp("2024-08-30")
    assert (first["model_name"] == "eur_usd_direction").all()
    assert (first["model_version"] == eur_version).all()
    # Rerunning EUR/USD leaves GBP/USD's rows as they are, and adds none of its own.
    assert run(warehouse_url).success
    pd.testing.assert_frame_equal(stored(warehouse_url, "GBPUSD"), theirs)
    assert set(Warehouse(warehouse_url).pairs(PREDICTIONS)) == {"EURUSD", "GBPUSD"}


def test_a_pairs_run_checks_its_own_rows_and_a_book_wide_check_every_pair(
    home: Path, warehouse_url: str
) -> None:
    final = fill_warehouse(warehouse_url, START, END)
    register_champion(final, CUTOFF)
    assert run(warehouse_url).success
    # Another pair's rows, broken behind the writer's back (P(up) 1.5).
    foreign = stored(warehouse_url).head(3).assign(pair="GBPUSD", probability_up=1.5)
    table = PREDICTIONS.table
    rows = [
        {k: v.date() if isinstance(table.c[k].type, sa.Date) else v for k, v in r.items()}
        for r in foreign.to_dict("records")
    ]
    with Warehouse(warehouse_url).engine.begin() as conn:
        conn.execute(table.insert(), rows)

    # EUR/USD's run checks what it wrote, EUR/USD's rows: GBP/USD's run would see its own.
    again = run(warehouse_url)
    (evaluation,) = again.get_asset_check_evaluations()
    assert evaluation.passed
    assert evaluation.metadata["pair"].value == DEFAULT_PAIR
    # A check of no pair in particular (the ETL's range run) reads every pair's rows.
    book = check_stored(WarehouseResource(url=warehouse_url), PREDICTIONS)
    assert not book.passed and book.description.startswith("GBPUSD: ")
