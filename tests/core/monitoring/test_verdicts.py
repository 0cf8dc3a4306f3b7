"""Every monitoring verdict names the rule that decided, with its numbers and its baseline."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from fx_assets.core.monitoring import performance, verdicts


def _resolved(hits: int, n: int, up: int, p_up: float) -> pd.DataFrame:
    """``n`` resolved days, ``up`` of them up; the model right on ``hits`` of them."""
    actual = np.array([1] * up + [0] * (n - up))
    direction = actual.copy()
    direction[: n - hits] = 1 - direction[: n - hits]
    return pd.DataFrame(
        {
            "feature_date": pd.date_range("2025-01-01", periods=n, freq="D"),
            "probability_up": np.where(direction == 1, p_up, 1 - p_up),
            "direction": direction,
            "actual": actual,
        }
    )


def _row(resolved: pd.DataFrame, outcome_up_share: float = 0.5) -> dict[str, object]:
    reference = performance.Reference(outcome_up_share, 0.5, 0.5)
    return performance.window_row(resolved, 60, reference)


def _p(text: str) -> float:
    return float(re.search(r"p=([0-9.]+)", text).group(1))  # type: ignore[union-attr]


def test_worse_than_always_up_decays_by_the_binomial_rule() -> None:
    row = _row(_resolved(hits=20, n=60, up=40, p_up=0.55))
    assert row["degraded"] and row["rule"] == "binomial"
    text = str(row["verdict"])
    assert text.startswith("decayed: accuracy 33.3% vs always-up 66.7% over the last 60")
    assert "worse than always-up: p=" in text and _p(text) < verdicts.ALPHA
    assert _p(text) == round(float(row["p_value"]), 3)


def test_a_worse_brier_decays_by_the_brier_rule_and_says_the_binomial_did_not() -> None:
    # Right on 40 of 60 (always-up: 30), but every call a confident 0.99: the Brier score
    # pays for the 20 confident misses and loses to the constant 0.5 forecast.
    row = _row(_resolved(hits=40, n=60, up=30, p_up=0.99))
    assert row["degraded"] and row["rule"] == "brier"
    text = str(row["verdict"])
    assert text.startswith(f"decayed: Brier {row['brier']:.4f} over the last 60 is worse than")
    assert f"the constant forecast's {row['constant_brier']:.4f}" in text
    # The figures beside it do not contradict it: the binomial p is printed as not significant.
    assert "accuracy 66.7% vs always-up 50.0%" in text
    assert "test for worse than always-up: p=" in text and "not significant" in text
    assert _p(text) > verdicts.ALPHA


def test_a_model_at_least_as_good_as_both_baselines_has_not_decayed() -> None:
    row = _row(_resolved(hits=40, n=60, up=30, p_up=0.6))
    assert not row["degraded"] and row["rule"] == "none"
    text = str(row["verdict"])
    assert text.startswith("not decayed: accuracy 66.7% vs always-up 50.0% over the last 60")
    assert _p(text) > verdicts.ALPHA
    assert (
        f"Brier {row['brier']:.4f} vs the constant forecast's {row['constant_brier']:.4f}" in text
    )
    assert row["brier"] <= row["constant_brier"]


def test_an_older_row_without_rule_is_worded_from_its_figures() -> None:
    row = {"window": "60", "n": 60, "accuracy": 0.433, "baseline_accuracy": 0.367,
           "brier": 0.25, "p_value": 0.885}  # fmt: skip
    assert verdicts.performance_verdict(row).startswith("not decayed: accuracy 43.3%")
    assert verdicts.performance_verdict({"window": "60", "n": 0}).startswith("not judged")


def _drift_row(rule: str, **kw: object) -> dict[str, object]:
    row: dict[str, object] = {
        "feature": "vol_20", "ks_stat": 0.94, "ks_threshold": 0.93, "ks_pvalue": 0.004,
        "outside_share": 0.78, "outside_threshold": 0.5, "range_low": 0.0021,
        "range_high": 0.0093, "rule": rule, "drifted": rule != "none",
    }  # fmt: skip
    return row | kw


def test_drift_reasons_for_each_rule_both_ways() -> None:
    assert verdicts.feature_reason(_drift_row("range")) == (
        "drifted: vol_20 (78% of the window outside the reference range [0.0021, 0.0093],"
        " held to 50%)"
    )
    ks = verdicts.feature_reason(_drift_row("ks", outside_share=0.1))
    assert ks.startswith("drifted: vol_20 (KS distance 0.94 above 0.93") and "p=0.004" in ks
    calm = verdicts.feature_reason(_drift_row("none", ks_stat=0.5, outside_share=0.0))
    assert calm.startswith("not drifted: vol_20 (KS distance 0.50 within 0.93")
    assert "0% of the window outside the reference range" in calm


def test_the_window_verdict_lists_the_drifted_features_or_the_closest_call() -> None:
    rows = pd.DataFrame([_drift_row("range"), _drift_row("none", feature="ret_1d", ks_stat=0.2)])
    rows["reason"] = [verdicts.feature_reason(r) for r in rows.to_dict("records")]
    assert verdicts.drift_verdict(rows) == (
        "drifted: 1 of 2 features: vol_20 (78% of the window outside the reference range"
        " [0.0021, 0.0093], held to 50%)"
    )
    calm = rows.assign(rule="none", drifted=False, outside_share=0.0)
    calm["reason"] = [verdicts.feature_reason(r) for r in calm.to_dict("records")]
    text = verdicts.drift_verdict(calm)
    assert text.startswith("not drifted: none of 2 features beyond its thresholds; closest vol_20")


def test_a_forecast_from_unseen_inputs_is_an_alert_in_words_and_a_seen_one_is_not() -> None:
    from fx_assets.core.monitoring import findings

    flags = '{"vol_20":{"side":"above","value":0.058,"limit":0.01,"factor":5.8}}'
    rows = pd.DataFrame(
        {
            "feature_date": pd.to_datetime(["2026-01-29", "2026-01-30"]),
            "target_date": pd.to_datetime(["2026-01-30", "2026-02-02"]),
            "out_of_range": [None, flags],
        }
    )
    fired = findings.out_of_range_inputs(rows)
    assert fired.fired and fired.summary == (
        "forecast for 2026-02-02 from inputs the model never saw: vol_20 is 5.8x the largest"
        " value the model was trained on: treat with caution"
    )
    calm = findings.out_of_range_inputs(rows.iloc[:1])
    assert not calm.fired and "inside the training ranges" in calm.summary
