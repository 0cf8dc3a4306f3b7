"""Freshness and gaps, against a fixed "today" so the answer never depends on the run date."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from fx_assets.core.ingestion.freshness import (
    find_gaps,
    forecast_is_stale,
    freshness,
    last_completed_trading_day,
    target_holidays,
    trading_days_between,
)


@pytest.mark.parametrize(
    "today, expected",
    [
        (date(2026, 12, 1), date(2026, 11, 30)),  # Tuesday: Monday
        (date(2026, 11, 30), date(2026, 11, 27)),  # Monday: Friday
        (date(2026, 11, 29), date(2026, 11, 27)),  # Sunday: Friday
        (date(2026, 11, 28), date(2026, 11, 27)),  # Saturday: Friday
    ],
)
def test_last_completed_trading_day(today: date, expected: date) -> None:
    assert last_completed_trading_day(today) == expected


def test_a_home_whose_data_ends_weeks_ago_is_stale() -> None:
    # The bundled ECB file ends on Friday 2026-10-30; on 2026-12-01 that is 21 weekdays old.
    fresh = freshness(date(2026, 10, 30), today=date(2026, 12, 1))

    assert fresh.behind == 21 and fresh.stale
    assert fresh.expected == date(2026, 11, 30)
    assert "2026-10-30 is 21 trading day(s) behind 2026-11-30" in fresh.describe()


@pytest.mark.parametrize(
    "newest, today, behind",
    [
        (date(2026, 11, 30), date(2026, 12, 1), 0),
        (date(2026, 11, 27), date(2026, 11, 30), 0),  # Friday's bar on Monday morning
        (date(2026, 11, 25), date(2026, 12, 1), 3),  # at the limit: not yet stale
    ],
)
def test_a_current_home_is_not_stale(newest: date, today: date, behind: int) -> None:
    fresh = freshness(newest, today=today)

    assert fresh.behind == behind and not fresh.stale


def test_one_day_past_the_limit_is_stale_and_the_limit_is_a_parameter() -> None:
    assert freshness(date(2026, 11, 24), today=date(2026, 12, 1)).stale
    assert not freshness(date(2026, 11, 24), today=date(2026, 12, 1), stale_after=4).stale
    assert freshness(None, today=date(2026, 12, 1)).stale


def test_trading_days_between_counts_weekdays_only() -> None:
    assert trading_days_between(date(2026, 11, 27), date(2026, 11, 30)) == 1
    assert trading_days_between(date(2026, 11, 30), date(2026, 11, 27)) == 0


def test_a_forecast_is_stale_when_its_target_day_is_past_or_the_data_is_behind() -> None:
    today = date(2026, 12, 1)
    current = freshness(date(2026, 11, 30), today=today)
    behind = freshness(date(2026, 10, 30), today=today)

    assert not forecast_is_stale(date(2026, 12, 2), current, today)
    assert not forecast_is_stale(date(2026, 12, 1), current, today)
    assert forecast_is_stale(date(2026, 11, 30), current, today)
    assert forecast_is_stale(date(2026, 11, 2), behind, today)
    assert forecast_is_stale(date(2026, 12, 2), behind, today)


def test_target_holidays_include_easter() -> None:
    assert {date(2026, 4, 3), date(2026, 4, 6)} <= target_holidays(2026)


def test_gaps_beyond_holidays_are_found_and_holidays_are_not_gaps() -> None:
    days = pd.bdate_range("2024-12-02", "2025-01-31")
    closed = {pd.Timestamp("2024-12-25"), pd.Timestamp("2024-12-26"), pd.Timestamp("2025-01-01")}
    hole = pd.bdate_range("2025-01-13", "2025-01-28")  # 12 weekdays
    single = pd.Timestamp("2024-12-10")
    kept = [d for d in days if d not in closed and d not in hole and d != single]

    gaps = find_gaps(pd.Series(kept))

    assert [(g.first, g.last, g.missing) for g in gaps] == [
        (date(2024, 12, 10), date(2024, 12, 10), 1),
        (date(2025, 1, 13), date(2025, 1, 28), 12),
    ]
    assert find_gaps(pd.Series(kept), min_missing=2) == gaps[1:]
    assert find_gaps(pd.Series(kept), explained=[date(2024, 12, 10)]) == gaps[1:]
    assert gaps[1].describe() == "2025-01-13..2025-01-28 (12 trading days)"


def test_a_gap_spanning_a_holiday_is_one_gap() -> None:
    days = pd.bdate_range("2024-12-16", "2025-01-10")
    missing = pd.bdate_range("2024-12-23", "2025-01-03")  # over Christmas and New Year
    (gap,) = find_gaps(pd.Series([d for d in days if d not in missing]))

    assert (gap.first, gap.last, gap.missing) == (date(2024, 12, 23), date(2025, 1, 3), 7)
