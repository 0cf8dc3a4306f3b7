"""How current the bars are, and where trading days are missing (warn-level findings).

Both are computed against a "today" the caller passes in, so that tests can fix it and
the answer never depends on when the suite runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd
from dateutil.easter import easter

from fx_assets.core.calendar import previous_weekday

DEFAULT_STALE_AFTER_DAYS = 3
# TARGET2 also closed on these two days only (the euro's first year end and the
# cash changeover); with them the whole ECB history since 1999 has no gap.
_SPECIAL_CLOSINGS = frozenset({date(1999, 12, 31), date(2001, 12, 31)})


def target_holidays(year: int) -> set[date]:
    """The TARGET2 closing days, on which the ECB publishes no reference rate and many
    providers no daily bar: New Year, Good Friday, Easter Monday, 1 May, 25 and 26 Dec."""
    sunday = easter(year)
    days = {
        date(year, 1, 1),
        sunday - timedelta(days=2),
        sunday + timedelta(days=1),
        date(year, 5, 1),
        date(year, 12, 25),
        date(year, 12, 26),
    }
    return days | {d for d in _SPECIAL_CLOSINGS if d.year == year}


def last_completed_trading_day(today: date) -> date:
    """The newest weekday before ``today``: today's bar is not complete until it closes."""
    return previous_weekday(today)


def trading_days_between(after: date, upto: date) -> int:
    """Weekdays d with after < d <= upto (holidays counted: a lag is a lag)."""
    if upto <= after:
        return 0
    return int(np.busday_count(after + timedelta(days=1), upto + timedelta(days=1)))


@dataclass(frozen=True)
class Freshness:
    newest: date | None
    expected: date
    behind: int
    stale_after: int

    @property
    def stale(self) -> bool:
        return self.newest is None or self.behind > self.stale_after

    def describe(self) -> str:
        if self.newest is None:
            return "no bars yet"
        if not self.stale:
            return f"data current: newest bar {self.newest} ({self.behind} trading day(s) behind)"
        return (
            f"data is stale: newest bar {self.newest} is {self.behind} trading day(s) behind "
            f"{self.expected} (more than {self.stale_after})"
        )


def freshness(
    newest: date | None, today: date, stale_after: int = DEFAULT_STALE_AFTER_DAYS
) -> Freshness:
    """How far the newest bar is behind the last completed trading day as of ``today``."""
    expected = last_completed_trading_day(today)
    behind = trading_days_between(newest, expected) if newest else 0
    return Freshness(newest=newest, expected=expected, behind=behind, stale_after=stale_after)


def forecast_is_stale(target_date: date | None, fresh: Freshness, today: date) -> bool:
    """A forecast is stale when its target day is already past or the data is behind (on
    the target day itself the forecast still says where that day's close will be)."""
    return fresh.stale or target_date is None or target_date < today


@dataclass(frozen=True)
class Gap:
    first: date
    last: date
    missing: int
    pair: str | None = None

    def for_pair(self, pair: str) -> Gap:
        return replace(self, pair=pair)

    def describe(self) -> str:
        where = f"{self.pair} " if self.pair else ""
        if self.first == self.last:
            return f"{where}{self.first}"
        return f"{where}{self.first}..{self.last} ({self.missing} trading days)"


def find_gaps(
    dates: pd.Series | list[date],
    *,
    explained: Iterable[date] = (),
    min_missing: int = 1,
) -> list[Gap]:
    """Runs of missing weekdays between the first and the newest bar that are not TARGET
    holidays, oldest first; runs shorter than ``min_missing`` days are left out.

    ``explained``: days the source did send but that were quarantined; they are listed in
    ``fx_raw_rejected`` with their reason, so they count as closed here.
    """
    idx = pd.DatetimeIndex(pd.to_datetime(pd.Series(dates))).normalize()
    if len(idx) < 2:
        return []
    weekdays = pd.bdate_range(idx.min(), idx.max())
    years = range(idx.min().year, idx.max().year + 1)
    holidays = set().union(*(target_holidays(y) for y in years)) | set(explained)
    missing = [d.date() for d in weekdays.difference(idx) if d.date() not in holidays]
    gaps: list[Gap] = []
    for day in missing:
        prev = gaps[-1] if gaps else None
        # Consecutive if only weekends and holidays lie between the previous missing day
        # and this one.
        if prev and _only_closed_between(prev.last, day, holidays):
            gaps[-1] = Gap(prev.first, day, prev.missing + 1)
        else:
            gaps.append(Gap(day, day, 1))
    return [g for g in gaps if g.missing >= min_missing]


def _only_closed_between(a: date, b: date, holidays: set[date]) -> bool:
    d = a + timedelta(days=1)
    while d < b:
        if d.weekday() < 5 and d not in holidays:
            return False
        d += timedelta(days=1)
    return True
