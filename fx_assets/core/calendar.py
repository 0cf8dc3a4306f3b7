"""Trading-day arithmetic: EUR/USD bars exist Monday to Friday."""

from __future__ import annotations

from datetime import date, timedelta


def next_weekday(day: date) -> date:
    """The next trading day after ``day``: Monday after a Friday."""
    nxt = day + timedelta(days=1)
    while nxt.weekday() >= 5:
        nxt += timedelta(days=1)
    return nxt


def previous_weekday(day: date) -> date:
    """The newest trading day strictly before ``day``: Friday for a Saturday or Monday."""
    prev = day - timedelta(days=1)
    while prev.weekday() >= 5:
        prev -= timedelta(days=1)
    return prev
