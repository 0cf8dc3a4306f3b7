"""Accuracy arithmetic of the dashboard against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fx_dash.metrics import (
    accuracy,
    accuracy_summary,
    join_outcomes,
    latest_forecast,
    resolved,
    rolling_accuracy,
)
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
    assert latest_forecast(joined)["feature_date"] == newest["feature_date"]


def test_baseline_is_scored_on_the_predicted_dates_only() -> None:
    """Up days in eur_usd_final without a prediction must not lift the always-up figure."""
    preds = predictions_frame([1, 0, 0, 1], start="2024-03-04")
    # Every final row is an up day except the four predicted ones, of which one is up.
    dates = pd.bdate_range("2024-01-01", "2024-04-30")
    targets = [1] * len(dates)
    for d, t in zip(preds["feature_date"], [0, 0, 1, 0], strict=True):
        targets[list(dates).index(d)] = t
    acc = accuracy(join_outcomes(preds, final_frame(dates, targets)))
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
    acc = accuracy(joined)
    assert acc.n == 0 and acc.accuracy is None and acc.baseline_accuracy is None
    assert rolling_accuracy(joined).empty
    empty = join_outcomes(None, None)
    assert empty.empty and latest_forecast(empty) is None and accuracy(empty).n == 0


def test_rolling_accuracy_over_twenty_resolved() -> None:
    rolling = rolling_accuracy(hundred_and_one(), window=20)
    assert len(rolling) == 81  # from the 20th resolved prediction to the 100th
    by_date = rolling.set_index("feature_date")
    days = pd.bdate_range("2024-01-01", periods=101)
    assert by_date.loc[days[19], "model"] == pytest.approx(1.0)
    assert by_date.loc[days[39], "always_up"] == pytest.approx(0.5)
    assert by_date.loc[days[79], "model"] == pytest.approx(0.0)
    assert by_date.loc[days[99], "model"] == pytest.approx(0.5)
    assert by_date.loc[days[99], "always_up"] == pytest.approx(1.0)
    assert days[100] not in by_date.index


def test_accuracy_cards_carry_a_block_bootstrap_interval() -> None:
    from fx_dash.metrics import Accuracy, accuracy

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
    acc: Accuracy = accuracy(join_outcomes(preds, final))
    assert acc.ci_low is not None and acc.ci_high is not None
    assert acc.ci_low < acc.accuracy < acc.ci_high
    # About two standard errors each side of a coin toss on 200 days.
    assert 0.04 < acc.ci_high - acc.ci_low < 0.2
    last20 = accuracy(join_outcomes(preds, final), window=20)
    assert last20.ci_high - last20.ci_low > acc.ci_high - acc.ci_low
