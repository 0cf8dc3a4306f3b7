"""Realized accuracy (the read model's one definition) against hand-computed cases.

Moved from the dashboard's and the performance monitoring's own copies: the windows, the
baseline on the same days, the pending forecast, and the exact (Clopper-Pearson) band.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fx_assets.core.readmodel.accuracy import (
    Accuracy,
    accuracy_summary,
    exact_interval,
    realized_accuracy,
    rolling_accuracy,
)
from fx_assets.core.readmodel.predictions import join_outcomes, resolved
from tests.support.frames import final_frame, predictions_frame


def hundred_and_one() -> pd.DataFrame:
    """101 predictions, alternately up and down; outcomes chosen so every figure is known:

    rows  0-39: actual = predicted  -> 40 right; 20 up days
    rows 40-79: actual = opposite   ->  0 right; 20 up days
    rows 80-99: actual = up         -> 10 right (the up calls); 20 up days
    row    100: not resolved yet (the newest final row has no target)
    """
    directions = [1 if i % 2 == 0 else 0 for i in range(101)]
    actual: list[int | None] = []
    for i, d in enumerate(directions[:100]):
        if i < 40:
            actual.append(d)
        elif i < 80:
            actual.append(1 - d)
        else:
            actual.append(1)
    actual.append(None)
    preds = predictions_frame(directions)
    return join_outcomes(preds, final_frame(preds["feature_date"], actual))


def test_overall_and_windows_match_hand_computed_counts() -> None:
    overall, last60, last20 = accuracy_summary(hundred_and_one())
    assert (overall.n, overall.hits, overall.baseline_hits) == (100, 50, 60)
    assert overall.accuracy == pytest.approx(0.50)
    assert overall.baseline_accuracy == pytest.approx(0.60)
    assert (last60.n, last60.hits, last60.baseline_hits) == (60, 10, 40)
    assert last60.accuracy == pytest.approx(10 / 60)
    assert (last20.n, last20.hits, last20.baseline_hits) == (20, 10, 20)
    assert last20.baseline_accuracy == pytest.approx(1.0)
    assert last20.first == pd.bdate_range("2024-01-01", periods=101)[80].date()
    assert all(a.complete for a in (overall, last60, last20))


def test_the_pending_prediction_counts_nowhere() -> None:
    joined = hundred_and_one()
    assert len(joined) == 101
    assert len(resolved(joined)) == 100
    newest = joined.iloc[-1]
    assert pd.isna(newest["actual"]) and pd.isna(newest["correct"])
    assert joined["feature_date"].is_monotonic_increasing  # oldest first, newest last


def test_baseline_is_scored_on_the_predicted_dates_only() -> None:
    """Up days in eur_usd_final without a prediction must not lift the always-up figure."""
    preds = predictions_frame([1, 0, 0, 1], start="2024-03-04")
    # Every final row is an up day except the four predicted ones, of which one is up.
    dates = pd.bdate_range("2024-01-01", "2024-04-30")
    targets = [1] * len(dates)
    for d, t in zip(preds["feature_date"], [0, 0, 1, 0], strict=True):
        targets[list(dates).index(d)] = t
    acc = realized_accuracy(join_outcomes(preds, final_frame(dates, targets)), None)
    assert (acc.n, acc.hits, acc.baseline_hits) == (4, 1, 1)  # right only on the 2nd day
    assert acc.baseline_accuracy == pytest.approx(0.25)


def test_outcome_is_the_target_of_the_feature_date_not_of_the_target_date() -> None:
    preds = predictions_frame([1])
    feature_day, target_day = preds["feature_date"][0], preds["target_date"][0]
    joined = join_outcomes(preds, final_frame([feature_day, target_day], [1, 0]))
    assert int(joined["actual"][0]) == 1
    assert bool(joined["correct"][0]) is True


def test_short_history_reports_its_real_n() -> None:
    preds = predictions_frame([1, 1, 0, 1, 0, 1, 1])
    joined = join_outcomes(preds, final_frame(preds["feature_date"], [1, 0, 0, 1, 1, 1, None]))
    overall, last60, last20 = accuracy_summary(joined)
    assert overall.n == last60.n == last20.n == 6
    assert overall.hits == 4  # right on rows 0, 2, 3, 5
    assert overall.baseline_hits == 4
    assert not last20.complete and overall.complete


def test_nothing_resolved_gives_no_percentages() -> None:
    joined = join_outcomes(predictions_frame([1, 0]), None)
    acc = realized_accuracy(joined, None)
    assert acc.n == 0 and acc.accuracy is None and acc.baseline_accuracy is None
    assert acc.ci_low is None and acc.ci_high is None
    assert rolling_accuracy(joined).empty
    empty = join_outcomes(None, None)
    assert empty.empty and realized_accuracy(empty).n == 0


def test_rolling_accuracy_over_twenty_resolved() -> None:
    rolling = rolling_accuracy(hundred_and_one(), window=20)
    assert len(rolling) == 100  # every resolved forecast; n says how many the window holds
    by_date = rolling.set_index("feature_date")
    days = pd.bdate_range("2024-01-01", periods=101)
    assert by_date.loc[days[9], "n"] == 10 and by_date.loc[days[19], "n"] == 20
    assert by_date.loc[days[19], "accuracy"] == pytest.approx(1.0)
    assert by_date.loc[days[39], "baseline_accuracy"] == pytest.approx(0.5)
    assert by_date.loc[days[79], "accuracy"] == pytest.approx(0.0)
    assert by_date.loc[days[99], "accuracy"] == pytest.approx(0.5)
    assert by_date.loc[days[99], "baseline_accuracy"] == pytest.approx(1.0)
    assert days[100] not in by_date.index


def test_the_rolling_band_holds_the_accuracy_and_ends_at_the_window_figure() -> None:
    rng = np.random.default_rng(1)
    preds = predictions_frame(rng.integers(0, 2, 200).tolist())
    joined = join_outcomes(preds, final_frame(preds["feature_date"], rng.integers(0, 2, 200)))
    band = rolling_accuracy(joined, window=60)
    assert (band["ci_low"] <= band["accuracy"]).all()
    assert (band["accuracy"] <= band["ci_high"]).all()
    assert band["n"].iloc[-1] == 60
    last = realized_accuracy(joined, 60)
    assert band["accuracy"].iloc[-1] == pytest.approx(last.accuracy)
    assert (band["ci_low"].iloc[-1], band["ci_high"].iloc[-1]) == pytest.approx(
        (last.ci_low, last.ci_high)
    )


def test_the_interval_is_clopper_pearson() -> None:
    # 30 of 60: about 0.368 to 0.632 (exact binomial, as R's binom.test reports it).
    low, high = exact_interval(30, 60)
    assert (float(low), float(high)) == pytest.approx((0.3681, 0.6319), abs=1e-3)
    # All right or all wrong: the band touches 1 or 0 exactly.
    assert float(exact_interval(20, 20)[1]) == 1.0 and float(exact_interval(0, 20)[0]) == 0.0


def test_accuracy_cards_carry_an_exact_interval_that_narrows_with_n() -> None:
    rng = np.random.default_rng(4)
    n = 200
    dates = pd.bdate_range("2024-01-01", periods=n)
    preds = pd.DataFrame(
        {
            "feature_date": dates,
            "target_date": dates + pd.offsets.BDay(1),
            "probability_up": 0.6,
            "direction": 1,
            "model_name": "m",
            "model_version": "1",
            "predicted_at": pd.Timestamp("2024-01-01", tz="UTC"),
        }
    )
    final = pd.DataFrame({"date": dates, "target": rng.integers(0, 2, n)})
    acc: Accuracy = realized_accuracy(join_outcomes(preds, final), None)
    assert acc.ci_low is not None and acc.ci_high is not None
    assert acc.ci_low < acc.accuracy < acc.ci_high
    # About two standard errors each side of a coin toss on 200 days.
    assert 0.1 < acc.ci_high - acc.ci_low < 0.16
    last20 = realized_accuracy(join_outcomes(preds, final), 20)
    assert last20.ci_high - last20.ci_low > acc.ci_high - acc.ci_low
    # The same call gives the same interval: nothing is resampled.
    assert realized_accuracy(join_outcomes(preds, final), None) == acc
