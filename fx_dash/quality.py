"""How current and how clean the data behind the page is: a stale banner and one
data-quality line (bars quarantined, by rule, newest first)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from dash import html

from fx_assets.core.ingestion.freshness import freshness
from fx_dash.reader import Snapshot


def stale_banner(snapshot: Snapshot, today: date, stale_after: int) -> html.Div | None:
    """A banner when the newest bar is more than ``stale_after`` trading days behind."""
    if snapshot.message or snapshot.newest_price is None:
        return None
    fresh = freshness(snapshot.newest_price, today, stale_after)
    if not fresh.stale:
        return None
    return html.Div(
        f"Stale data: the newest bar is {fresh.newest:%Y-%m-%d}, {fresh.behind} trading days "
        f"behind {fresh.expected:%Y-%m-%d}, so any forecast above is for a day already past. "
        "Run with FX_SOURCE=ecb-live (no key) or FX_SOURCE=twelvedata for current data.",
        id="stale-banner",
        className="message problem",
    )


def quality_line(snapshot: Snapshot) -> html.Div | None:
    """Rows quarantined by rule, the rule with the newest reject first."""
    rejected = snapshot.rejected
    if snapshot.message:
        return None
    if rejected is None or rejected.empty:
        text = "Data quality: no bar quarantined."
    else:
        by_rule = (
            rejected.groupby("rule")["date"]
            .agg(["count", "max"])
            .sort_values("max", ascending=False)
        )
        parts = [
            f"{rule} {int(row['count'])} (newest {pd.Timestamp(row['max']):%Y-%m-%d})"
            for rule, row in by_rule.iterrows()
        ]
        text = f"Data quality: {len(rejected)} bar(s) quarantined: " + ", ".join(parts) + "."
    return html.Div(text, id="data-quality", className="detail")


def data_status(snapshot: Snapshot, stale_after: int, today: date | None = None) -> list[Any]:
    """The banner (if stale) and the quality line, under the forecast."""
    today = today or datetime.now(UTC).date()
    return [
        part
        for part in (stale_banner(snapshot, today, stale_after), quality_line(snapshot))
        if part is not None
    ]
