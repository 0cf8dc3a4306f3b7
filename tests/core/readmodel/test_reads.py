"""The read model's reads on a real warehouse, SQLite and PostgreSQL: what every consumer sees."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest

from fx_assets.core.contracts import (
    BACKTEST_SUMMARY,
    DRIFT,
    FINAL,
    PERFORMANCE,
    PREDICTIONS,
    RAW,
    RAW_REJECTED,
    STAGING,
)
from fx_assets.core.domain import FEATURES
from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.readmodel import data
from fx_assets.core.readmodel.backtest import backtest_summary
from fx_assets.core.readmodel.monitoring import read_monitoring
from fx_assets.core.readmodel.predictions import newest_forecast, predictions_with_outcomes
from fx_assets.core.readmodel.stores import no_data_message, open_warehouse
from fx_assets.core.warehouse import Warehouse
from tests.support.frames import backtest_summary_frame, predictions_frame, raw_bars

DAYS = pd.bdate_range("2024-01-01", periods=80)


def fill(url: str, pair: str = DEFAULT_PAIR, days: pd.DatetimeIndex = DAYS) -> None:
    """Bars, final rows (the newest without a target), 30 forecasts, one quarantined bar."""
    base = Warehouse(url)
    wh = base.for_pair(pair)
    raw = raw_bars(days)
    final = pd.DataFrame({"date": days, **{f: 0.0 for f in FEATURES}})
    final["target"] = pd.array([i % 2 for i in range(len(days) - 1)] + [None], "Int64")
    wh.replace_all(RAW, raw)
    wh.replace_all(STAGING, final[["date"]].assign(close=1.1, **{f: 0.0 for f in FEATURES}))
    wh.replace_all(FINAL, final)
    wh.replace_all(PREDICTIONS, predictions_frame([1, 0] * 15, start=str(days[-30].date())))
    rejected = (
        raw.iloc[:1]
        .drop(columns="ingested_at")
        .assign(
            date=pd.Timestamp("2023-12-30"),
            rule="weekend",
            reason="a Saturday bar",
            rejected_at=datetime(2024, 6, 1, tzinfo=UTC),
        )
    )
    wh.replace_all(RAW_REJECTED, rejected)
    base.dispose()


def test_predictions_are_joined_to_their_outcomes_once(warehouse_url: str) -> None:
    fill(warehouse_url)
    wh = open_warehouse(warehouse_url)
    joined = predictions_with_outcomes(wh)
    assert len(joined) == 30 and joined["feature_date"].is_monotonic_increasing
    # The newest forecast's feature date is final's newest row, whose target is unknown.
    assert joined["actual"].isna().sum() == 1 and pd.isna(joined["correct"].iloc[-1])
    # Outcome of feature date t is final's target of t: alternating 0/1 by row position.
    first = joined.iloc[0]
    assert int(first["actual"]) == (len(DAYS) - 30) % 2
    assert bool(first["correct"]) == (int(first["direction"]) == int(first["actual"]))
    some = predictions_with_outcomes(wh, DAYS[-10].date(), DAYS[-5].date())
    assert list(some["feature_date"]) == list(DAYS[-10:-4])
    newest = newest_forecast(wh)
    assert newest is not None and newest["feature_date"].date() == DAYS[-1].date()
    assert isinstance(newest["probability_up"], float) and newest["model_version"] == "3"


def test_data_status_spans_and_quarantine(warehouse_url: str) -> None:
    fill(warehouse_url)
    wh = open_warehouse(warehouse_url)
    spans = {s.table: s for s in data.spans(wh)}
    assert spans[RAW.name].rows == 80 and spans[FINAL.name].last == DAYS[-1].date()
    assert data.newest_bar(wh) == DAYS[-1].date() == data.newest_features(wh)
    fresh = data.data_status(wh, today=DAYS[-1].date() + pd.Timedelta(days=1), stale_after=3)
    assert fresh.newest == DAYS[-1].date() and not fresh.stale
    assert data.data_status(wh, today=date(2025, 1, 1), stale_after=3).stale
    assert len(data.prices(wh, DAYS[-5].date())) == 5
    rejected = data.quarantined(wh)
    assert rejected is not None and list(rejected["rule"]) == ["weekend"]


def _drift_row(feature: str, window_end: str, version: str, psi: float) -> dict[str, object]:
    return {
        "feature": feature,
        "window_end": pd.Timestamp(window_end),
        "model_version": version,
        "reference_start": pd.Timestamp("2020-01-01"),
        "reference_end": pd.Timestamp("2023-12-29"),
        "window_start": pd.Timestamp("2024-01-01"),
        "psi": psi,
        "ks_stat": psi / 2,
        "ks_pvalue": 0.5,
        "ks_threshold": None,
        "drifted": psi > 0.25,
    }


def test_monitoring_reads_the_newest_window_of_the_newest_version(warehouse_url: str) -> None:
    wh = Warehouse(warehouse_url).for_pair(DEFAULT_PAIR)
    rows = [
        _drift_row("vol_5", "2024-03-01", "9", 0.9),
        _drift_row("vol_5", "2024-04-01", "9", 0.1),
        _drift_row("vol_5", "2024-04-01", "10", 0.2),
        _drift_row("rsi_14", "2024-04-01", "10", 0.4),
    ]
    wh.replace_all(DRIFT, pd.DataFrame(rows))
    performance = pd.DataFrame(
        {
            "window": ["20", "60"],
            "window_end": pd.Timestamp("2024-04-01"),
            "n": [20, 60],
            "accuracy": [0.55, 0.5],
            "baseline_accuracy": [0.5, 0.5],
            "brier": 0.25,
            "p_value": [0.4, 0.5],
            "degraded": False,
            "up_share": 0.5,
            "mean_probability_up": 0.5,
            "train_up_share": 0.5,
            "train_mean_probability_up": 0.5,
            "prediction_drifted": False,
        }
    )
    wh.replace_all(PERFORMANCE, performance)
    found = read_monitoring(open_warehouse(warehouse_url))
    # Version "10" is newer than "9" (integers as text), largest KS distance first.
    assert list(found.drift["feature"]) == ["rsi_14", "vol_5"]
    assert set(found.drift["model_version"]) == {"10"}
    assert pd.isna(found.drift["ks_threshold"]).all()  # nullable: rows of older releases
    sixty = found.window("60")
    assert sixty is not None and sixty["n"] == 60 and found.window("250") is None


def test_backtest_summary_lists_the_model_first_with_its_verdicts(warehouse_url: str) -> None:
    Warehouse(warehouse_url).for_pair(DEFAULT_PAIR).replace_all(
        BACKTEST_SUMMARY, backtest_summary_frame()
    )
    found = backtest_summary(open_warehouse(warehouse_url))
    assert found.summary is not None
    assert list(found.summary["strategy"]) == ["model", "always_up", "persistence", "momentum"]
    assert found.verdict == "not distinguishable from always-up, p = 0.41"
    assert found.verdicts["persistence"] == "better than persistence, p = 0.03"


def test_before_the_pipeline_ran_every_read_is_empty(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert no_data_message(missing) is not None and not (tmp_path / "none.db").exists()
    url = f"sqlite:///{tmp_path / 'bare.db'}"
    Warehouse(url).engine.dispose()  # every table, no row
    wh = open_warehouse(url)
    assert no_data_message(url) is None
    assert predictions_with_outcomes(wh).empty and newest_forecast(wh) is None
    found = read_monitoring(wh, alerts=5)
    assert found.drift.empty and found.performance.empty and found.alerts == []
    assert backtest_summary(wh).summary is None and backtest_summary(wh).verdict is None
    assert data.newest_bar(wh) is None and data.data_status(wh, date(2024, 1, 1), 3).stale


def test_the_read_model_cannot_write(warehouse_url: str) -> None:
    fill(warehouse_url)
    wh = open_warehouse(warehouse_url)
    with pytest.raises(PermissionError):
        wh.replace_all(PREDICTIONS, pd.DataFrame())
    assert Warehouse(warehouse_url, create=False).count(PREDICTIONS) == 30
