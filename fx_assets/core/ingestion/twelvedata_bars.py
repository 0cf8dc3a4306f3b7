"""Twelve Data's answers as bars: the request windows of a range, one page's ``values``
parsed, the pages put together. Apart from the client (``twelvedata.py``) so that each
stays short; nothing here talks to the network.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd

from fx_assets.core.ingestion.base import BAR_COLUMNS, SourceError

_PRICES = ("open", "high", "low", "close")


def empty_bars() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "date": pd.Series(dtype="datetime64[ns]"),
            **{col: pd.Series(dtype=float) for col in _PRICES},
        }
    )


def request_windows(start: date, end: date, span_days: int) -> list[tuple[date, date]]:
    """Consecutive inclusive [lo, hi] windows covering [start, end], each asked for as
    ``start_date=lo, end_date=hi + 1 day``: a request spans at most ``span_days`` calendar
    days, hence at most that many bars, whether the API treats ``end_date`` as inclusive
    or exclusive (its help pages show it exclusive for daily bars)."""
    longest = timedelta(days=span_days - 2)
    windows: list[tuple[date, date]] = []
    lo = start
    while lo <= end:
        hi = min(lo + longest, end)
        windows.append((lo, hi))
        lo = hi + timedelta(days=1)
    return windows


def parse_values(body: dict[str, Any], window: str) -> pd.DataFrame:
    """The bars of one answer's ``values``; anything else there is a one-line SourceError."""
    values = body.get("values")
    if not isinstance(values, list) or not all(isinstance(v, dict) for v in values):
        raise SourceError(
            f"Twelve Data answered {window} without a list of bars in 'values'; "
            "check TWELVEDATA_BASE_URL points at the API root"
        )
    if not values:
        return empty_bars()
    frame = pd.DataFrame(values)
    missing = [c for c in ("datetime", *_PRICES) if c not in frame.columns]
    if missing:
        raise SourceError(
            f"Twelve Data bars for {window} lack field(s) {', '.join(missing)}; "
            "the response format may have changed"
        )
    dates = pd.to_datetime(frame["datetime"], errors="coerce", format="mixed")
    if dates.isna().any():
        bad = frame.loc[dates.isna(), "datetime"].astype(str).tolist()[:3]
        raise SourceError(f"Twelve Data bars for {window} have unparseable datetime {bad}")
    bars = pd.DataFrame({"date": dates.dt.tz_localize(None).dt.normalize()})
    for col in _PRICES:
        prices = pd.to_numeric(frame[col], errors="coerce")
        if prices.isna().any():
            bad = frame.loc[prices.isna(), "datetime"].astype(str).tolist()[:3]
            raise SourceError(f"Twelve Data bars for {window} have a non-numeric {col} on {bad}")
        bars[col] = prices.astype(float)
    return bars


def assemble(pages: list[pd.DataFrame], start: date, end: date) -> pd.DataFrame:
    """The pages' bars inside [start, end], oldest first."""
    bars = pd.concat([p for p in pages if len(p)] or [empty_bars()], ignore_index=True)
    inside = (bars["date"] >= pd.Timestamp(start)) & (bars["date"] <= pd.Timestamp(end))
    # Identical repeats where pages meet collapse; two different bars for one date are
    # left for the raw expectations to fail on, with the dates named.
    bars = bars.loc[inside].drop_duplicates()
    return bars.sort_values("date").reset_index(drop=True)[BAR_COLUMNS]
