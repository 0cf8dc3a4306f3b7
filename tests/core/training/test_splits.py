"""The train/test split: disjoint, ordered, gap honoured, deterministic, and leak-free."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fx_assets.core.contracts import DataValidationError
from fx_assets.core.domain import FEATURES, TARGET
from fx_assets.core.features import build_features, build_final
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.training.splits import (
    InsufficientHistoryError,
    known_rows,
    min_train_rows,
    split_train_test,
    validate_split,
)


@pytest.fixture(scope="module")
def final() -> pd.DataFrame:
    bars = EcbSource().fetch(date(2021, 1, 4), date(2023, 12, 29))
    return build_final(build_features(bars))


def test_split_is_disjoint_ordered_with_the_gap(final: pd.DataFrame) -> None:
    split = split_train_test(final, test_days=100, gap_days=3, min_train=200)
    known = known_rows(final)
    train, test = split.train, split.test

    assert len(test) == 100
    assert test["date"].tolist() == known["date"].tail(100).tolist()  # the newest known days
    assert train["date"].is_monotonic_increasing and test["date"].is_monotonic_increasing
    assert not set(train["date"]) & set(test["date"])
    assert train["date"].max() < test["date"].min()
    between = known[(known["date"] > train["date"].max()) & (known["date"] < test["date"].min())]
    assert len(between) == 3
    assert len(train) + 3 + len(test) == len(known)  # nothing else is dropped
    assert train[TARGET].notna().all() and test[TARGET].notna().all()
    assert final[TARGET].isna().iloc[-1]  # the row to forecast is in neither
    assert final["date"].iloc[-1] not in set(test["date"])
    assert split.training_cutoff == train["date"].iloc[-1]
    validate_split(train, test, known["date"], 3)


def test_split_is_deterministic(final: pd.DataFrame) -> None:
    a = split_train_test(final, test_days=120, gap_days=1, min_train=200)
    b = split_train_test(
        final.sample(frac=1, random_state=3), test_days=120, gap_days=1, min_train=200
    )
    pd.testing.assert_frame_equal(a.train, b.train)
    pd.testing.assert_frame_equal(a.test, b.test)


def test_too_little_history_says_how_many_rows_are_needed(final: pd.DataFrame) -> None:
    known = len(known_rows(final))
    with pytest.raises(InsufficientHistoryError) as err:
        split_train_test(final, test_days=500, gap_days=1, min_train=min_train_rows(5))
    message = str(err.value)
    assert "\n" not in message
    assert f"has {known} rows" in message
    assert f"at least {500 + 1 + min_train_rows(5)}" in message
    assert "FX_TEST_DAYS" in message


def test_bad_settings_are_rejected(final: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="test_days"):
        split_train_test(final, test_days=0, gap_days=1, min_train=10)
    with pytest.raises(ValueError, match="gap_days"):
        split_train_test(final, test_days=10, gap_days=-1, min_train=10)


def test_split_check_names_overlap_and_missing_gap(final: pd.DataFrame) -> None:
    known = known_rows(final)
    split = split_train_test(final, test_days=50, gap_days=1, min_train=200)
    overlapping = pd.concat([split.train, split.test.head(1)], ignore_index=True)
    with pytest.raises(DataValidationError, match="disjoint_and_test_after_train"):
        validate_split(overlapping, split.test, known["date"], 1)
    no_gap = split_train_test(final, test_days=50, gap_days=0, min_train=200)
    with pytest.raises(DataValidationError, match="gap_of_1_rows"):
        validate_split(no_gap.train, no_gap.test, known["date"], 1)
    with pytest.raises(DataValidationError, match="train_and_test_present"):
        validate_split(split.train.iloc[0:0], split.test, known["date"], 1)


def _final_from_closes(closes: np.ndarray) -> pd.DataFrame:
    dates = pd.bdate_range("2020-01-01", periods=len(closes))
    return build_final(build_features(pd.DataFrame({"date": dates, "close": closes})))


def _perturb_test_window(
    closes: np.ndarray, first_test: pd.Timestamp, factors: list[float]
) -> np.ndarray:
    """Closes with every price on or after ``first_test`` scaled by ``factors`` (cycled)."""
    dates = pd.bdate_range("2020-01-01", periods=len(closes))
    changed = closes.copy()
    in_test = np.flatnonzero(dates >= first_test)
    changed[in_test] = changed[in_test] * np.resize(np.asarray(factors), len(in_test))
    return changed


@settings(max_examples=40, deadline=None)
@given(
    steps=st.lists(st.floats(-0.01, 0.01), min_size=130, max_size=220),
    test_days=st.integers(5, 40),
    gap_days=st.integers(1, 3),
    factors=st.lists(st.floats(0.9, 1.1), min_size=1, max_size=10),
)
def test_no_train_row_depends_on_a_test_window_price(
    steps: list[float], test_days: int, gap_days: int, factors: list[float]
) -> None:
    closes = 1.1 * np.exp(np.cumsum(steps))
    final = _final_from_closes(closes)
    split = split_train_test(final, test_days=test_days, gap_days=gap_days, min_train=5)

    changed = _perturb_test_window(closes, split.test["date"].iloc[0], factors)
    again = split_train_test(
        _final_from_closes(changed), test_days=test_days, gap_days=gap_days, min_train=5
    )
    pd.testing.assert_frame_equal(split.train, again.train)


def test_without_a_gap_the_last_train_label_uses_a_test_price() -> None:
    """The property above fails without the gap: the control that shows the test can fail."""
    closes = 1.1 * np.exp(np.cumsum(np.full(150, 0.001)))  # always up: every target is 1
    final = _final_from_closes(closes)
    split = split_train_test(final, test_days=10, gap_days=0, min_train=5)
    # Drop the first test day's close below the day before: the last train label flips.
    changed = _perturb_test_window(closes, split.test["date"].iloc[0], [0.9])
    again = split_train_test(_final_from_closes(changed), test_days=10, gap_days=0, min_train=5)
    assert split.train[TARGET].iloc[-1] == 1 and again.train[TARGET].iloc[-1] == 0
    assert split.train[FEATURES].equals(again.train[FEATURES])
