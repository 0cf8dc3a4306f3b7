"""The book at a glance: one row per pair of ``FX_PAIRS``, and the book's skill headline.

Each row holds what a reader scans the book for: the newest forecast and its P(up), the
champion (version, family, how long it has served), the skill verdict, the drift and
decay state of the newest monitoring run, and how current the pair's bars are. The
service's ``/pairs`` and the page's overview both read it here.

The skill verdict is the book's, corrected for testing many pairs, once the evaluation
writes ``fx_backtest_book`` (per pair: ``p_value`` against always-up, its Benjamini-
Hochberg and Holm adjustments, ``skilful`` and ``skilful_adjusted``). Until that table
exists, each pair's verdict comes from its own ``fx_backtest_summary`` (the model against
always-up) and the headline says that it is not adjusted: seven pairs tested at 5 % find
one "skilful" pair by chance about a third of the time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from fx_assets.core.contracts import BACKTEST_SUMMARY, DRIFT, PERFORMANCE
from fx_assets.core.contracts.book import BACKTEST_BOOK
from fx_assets.core.evaluation.book import SKILL_COLUMNS, judge
from fx_assets.core.evaluation.stats import ALPHA
from fx_assets.core.evaluation.summary import verdict
from fx_assets.core.ingestion.freshness import freshness
from fx_assets.core.models.registry import TAG_FAMILY, TAG_PROMOTED_AT, Version
from fx_assets.core.monitoring import findings
from fx_assets.core.pairs import Pair
from fx_assets.core.readmodel.data import newest_bar
from fx_assets.core.readmodel.monitoring import newest_rows
from fx_assets.core.readmodel.predictions import newest_forecast
from fx_assets.core.readmodel.registry import RegistryReader
from fx_assets.core.readmodel.stores import pair_code
from fx_assets.core.redaction import one_line
from fx_assets.core.warehouse import Warehouse

# The multiple-testing table the evaluation writes for the whole book.
BOOK_TABLE = BACKTEST_BOOK.name


@dataclass(frozen=True)
class Skill:
    """A pair's backtest against always-up; the adjusted fields are None until the book's
    multiple-testing table exists (``adjusted`` False)."""

    p_value: float | None
    skilful: bool | None
    verdict: str
    adjusted: bool = False
    p_bh: float | None = None
    p_holm: float | None = None
    skilful_adjusted: bool | None = None

    @property
    def shown(self) -> str:
        """The verdict a reader of the book should see: the adjusted one where there is one."""
        if not self.adjusted:
            return f"{self.verdict} (unadjusted)"
        if self.skilful_adjusted:
            return f"skilful after adjusting for the book (Holm p = {_p(self.p_holm)})"
        return f"no skill after adjusting for the book (Holm p = {_p(self.p_holm)})"


@dataclass(frozen=True)
class BookRow:
    """One pair of the book; ``message`` says why a part is missing (no champion yet)."""

    pair: str
    label: str
    model_name: str
    forecast: dict[str, Any] | None = None
    champion: Version | None = None
    champion_since: datetime | None = None
    skill: Skill | None = None
    drift: findings.Finding | None = None
    decay: findings.Finding | None = None
    newest_bar: date | None = None
    behind: int = 0
    stale: bool = True
    message: str | None = None

    @property
    def probability_up(self) -> float | None:
        return None if self.forecast is None else float(self.forecast["probability_up"])

    @property
    def family(self) -> str | None:
        return None if self.champion is None else self.champion.tags.get(TAG_FAMILY)

    def champion_age_days(self, today: date) -> int | None:
        """Days since the champion was promoted (registered, for a version without the tag)."""
        return None if self.champion_since is None else (today - self.champion_since.date()).days


@dataclass(frozen=True)
class Book:
    rows: list[BookRow] = field(default_factory=list)
    headline: str | None = None
    adjusted: bool = False

    def row(self, pair: str) -> BookRow | None:
        code = pair_code(pair)
        return next((r for r in self.rows if r.pair == code), None)


def _p(value: float | None) -> str:
    return "n/a" if value is None else (f"{value:.3f}" if value < 0.01 else f"{value:.2f}")


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _flag(value: Any) -> bool | None:
    return None if value is None or pd.isna(value) else bool(value)


def book_table(wh: Warehouse) -> pd.DataFrame | None:
    """The evaluation's multiple-testing rows (every pair), or None before the book has been
    judged (no table, or no row yet)."""
    if not wh.has(BACKTEST_BOOK):
        return None
    rows = wh.read(BACKTEST_BOOK)
    return None if rows.empty else rows


def pair_skill(wh: Warehouse, pair: str, adjusted: pd.DataFrame | None = None) -> Skill | None:
    """``pair``'s model against always-up from its backtest summary, with the book's
    adjustment when ``adjusted`` (``book_table``) holds the pair; None before a backtest."""
    if not wh.has(BACKTEST_SUMMARY):
        return None
    summary = wh.read(BACKTEST_SUMMARY, pair=pair)
    if not {"model", "always_up"} <= set(summary["strategy"]):
        return None
    rows = summary.set_index("strategy")
    p = _number(rows.at["always_up", "p_value"])
    better = float(rows.at["model", "accuracy"]) > float(rows.at["always_up", "accuracy"])
    skill = Skill(
        p_value=p,
        skilful=None if p is None else bool(p < ALPHA and better),
        verdict=verdict(summary) if p is not None else "no p-value against always-up",
    )
    found = None if adjusted is None else adjusted[adjusted["pair"] == pair]
    if found is None or found.empty:
        return skill
    r = found.iloc[0]
    return Skill(
        p_value=_number(r.get("p_value", p)),
        skilful=_flag(r.get("skilful", skill.skilful)),
        verdict=skill.verdict,
        adjusted=True,
        p_bh=_number(r.get("p_bh")),
        p_holm=_number(r.get("p_holm")),
        skilful_adjusted=_flag(r.get("skilful_adjusted")),
    )


def headline(rows: Sequence[BookRow], table: pd.DataFrame | None = None) -> str | None:
    """The book's verdict in one line, the adjusted count first once there is one."""
    if table is not None:
        # The asset's own headline, from the same stored p-values: every surface says it alike.
        return judge(table[SKILL_COLUMNS]).headline
    tested = [r.skill for r in rows if r.skill is not None and r.skill.p_value is not None]
    if not tested:
        return None
    raw = sum(bool(s.skilful) for s in tested)
    n = len(tested)
    if all(s.adjusted for s in tested):
        kept = sum(bool(s.skilful_adjusted) for s in tested)
        end = "no pair shows skill" if kept == 0 else f"{kept} pair(s) show skill"
        return f"{raw} of {n} pairs at p < {ALPHA} unadjusted, {kept} after adjustment: {end}"
    return (
        f"{raw} of {n} pairs at p < {ALPHA} against always-up, not yet adjusted for testing"
        f" {n} pairs: by chance alone about {n * ALPHA:.2f} would be"
    )


def _champion(registry: RegistryReader, pair: str) -> tuple[Version | None, str | None]:
    """The pair's champion version, or why there is none (never raises)."""
    name = Pair.parse(pair).model_name
    if not registry.exists:
        return None, "no model registry yet: training registers the first model (`fx run`)"
    try:
        champion = registry.champion(pair)
    except Exception as exc:
        return None, f"model registry unreachable: {one_line(exc)}"
    if champion is None:
        return None, f"no champion yet: {name} has no version with the `champion` alias"
    return champion, None


def _since(champion: Version | None) -> datetime | None:
    if champion is None:
        return None
    promoted = champion.tags.get(TAG_PROMOTED_AT)
    if promoted:
        try:
            when = datetime.fromisoformat(promoted)
            return when if when.tzinfo else when.replace(tzinfo=UTC)
        except ValueError:
            pass
    return champion.created_at


def read_book(
    wh: Warehouse,
    book: Sequence[str],
    *,
    registry: RegistryReader | None,
    today: date,
    stale_after: int,
) -> Book:
    """One row per pair of ``book``, in its order, and the book's headline. The registry
    may be None (its parts are then left out); a warehouse error propagates (the caller
    says so in its one line)."""
    adjusted = book_table(wh)
    drift_ready, perf_ready = wh.has(DRIFT), wh.has(PERFORMANCE)
    rows: list[BookRow] = []
    for pair in book:
        code = pair_code(pair)
        champion, message = _champion(registry, code) if registry else (None, None)
        fresh = freshness(newest_bar(wh, pair=code), today, stale_after)
        drift = newest_rows(wh, DRIFT, pair=code) if drift_ready else pd.DataFrame()
        perf = newest_rows(wh, PERFORMANCE, pair=code) if perf_ready else pd.DataFrame()
        rows.append(
            BookRow(
                pair=code,
                label=Pair.parse(code).label,
                model_name=Pair.parse(code).model_name,
                forecast=newest_forecast(wh, pair=code),
                champion=champion,
                champion_since=_since(champion),
                skill=pair_skill(wh, code, adjusted),
                drift=findings.feature_drift(drift) if len(drift) else None,
                decay=findings.performance_decay(perf) if len(perf) else None,
                newest_bar=fresh.newest,
                behind=fresh.behind,
                stale=fresh.stale,
                message=message,
            )
        )
    return Book(rows=rows, headline=headline(rows, adjusted), adjusted=adjusted is not None)
