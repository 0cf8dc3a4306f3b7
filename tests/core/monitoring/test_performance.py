"""Realized performance: hand-computed windows, the exact binomial test, prediction drift."""

from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd
import pytest

from fx_assets.core.monitoring import performance as perf


def _resolved(direction: list[int], actual: list[int], p: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feature_date": pd.bdate_range("2024-01-01", periods=len(actual)),
            "probability_up": p,
            "direction": direction,
            "actual": actual,
        }
    )


def test_a_hand_computed_window() -> None:
    rows = _resolved([1, 1, 0, 0], [1, 0, 0, 1], [0.8, 0.6, 0.3, 0.4])
    row = perf.window_row(rows, None)
    assert row["n"] == 4
    assert row["accuracy"] == pytest.approx(0.5)
    assert row["baseline_accuracy"] == pytest.approx(0.5)
    # (0.2^2 + 0.6^2 + 0.3^2 + 0.6^2) / 4
    assert row["brier"] == pytest.approx(0.2125)
    # P(X <= 2), X ~ Binomial(4, 1/2) = (1 + 4 + 6) / 16
    assert row["p_value"] == pytest.approx(11 / 16)
    assert row["window"] == "all"
    assert row["window_end"] == pd.Timestamp("2024-01-04").date()
    # Brier 0.2125 is under the constant 0.5 forecast's 0.25, and p is large.
    assert not row["degraded"]


def test_the_binomial_test_on_a_hand_computed_case() -> None:
    # 5 hits in 20 days against an always-up rate of 0.6.
    expected = sum(comb(20, k) * 0.6**k * 0.4 ** (20 - k) for k in range(6))
    assert perf.hits_p_value(5, 20, 0.6) == pytest.approx(expected, rel=1e-9)
    assert expected < 0.01  # 0.0016: significantly worse than always-up


def test_a_model_worse_than_always_up_is_degraded() -> None:
    actual = [1] * 12 + [0] * 8
    direction = [0] * 12 + [1] * 3 + [0] * 5  # 5 hits
    p = [0.4 if d == 0 else 0.6 for d in direction]
    row = perf.window_row(_resolved(direction, actual, p), 20)
    assert row["accuracy"] == pytest.approx(0.25)
    assert row["baseline_accuracy"] == pytest.approx(0.6)
    assert row["p_value"] < 0.05
    assert row["degraded"]


def test_brier_worse_than_the_constant_forecast_is_degraded() -> None:
    # Always-up calls at P(up) 0.55 on a 50/50 window: hits no worse than always-up, but
    # the Brier score 0.2525 is above the constant 0.5 forecast's 0.25.
    rows = _resolved([1] * 10, [1, 0] * 5, [0.55] * 10)
    ref = perf.Reference(outcome_up_share=0.5, up_share=1.0, mean_probability_up=0.55)
    row = perf.window_row(rows, None, ref)
    assert row["brier"] == pytest.approx(0.2525)
    assert row["p_value"] == pytest.approx(perf.hits_p_value(5, 10, 0.5))
    assert row["degraded"]


def test_windows_and_prediction_drift() -> None:
    rng = np.random.default_rng(0)
    n = 300
    actual = rng.integers(0, 2, n).tolist()
    direction = [1] * n  # always up now
    rows = _resolved(direction, actual, [0.6] * n)
    ref = perf.Reference(outcome_up_share=0.5, up_share=0.5, mean_probability_up=0.5)
    table = perf.performance(rows, ref)
    assert list(table["window"]) == ["20", "60", "250", "all"]
    assert list(table["n"]) == [20, 60, 250, 300]
    # Always-up calls score exactly the always-up baseline.
    assert (table["accuracy"] == table["baseline_accuracy"]).all()
    assert table["prediction_drifted"].all()  # up share 1.0 against 0.5
    assert (table["up_share"] == 1.0).all()
    assert (table["train_mean_probability_up"] == 0.5).all()
    quiet = perf.performance(rows, perf.Reference(0.5, 0.9, 0.58))
    assert not quiet["prediction_drifted"].any()


def test_no_resolved_prediction_gives_no_rows() -> None:
    assert perf.performance(_resolved([], [], [])).empty
