"""``GET /pairs``: the book the service serves, each pair with its champion, its freshness
and its skill verdict (read through the read model's book read)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request

from fx_assets.core.readmodel.book import BookRow, read_book
from fx_serving.deps import (
    NO_WAREHOUSE,
    UNAUTHORIZED,
    holders_of,
    require_token,
    warehouse_errors,
    warehouse_of,
)
from fx_serving.holder import ChampionHolder
from fx_serving.schemas import BookReport, PairChampion, PairEntry, PairForecast, Skill

book_routes = APIRouter(dependencies=[Depends(require_token)], responses=UNAUTHORIZED)


def _entry(row: BookRow, holder: ChampionHolder, today: date) -> PairEntry:
    served = holder.champion
    champion = None
    if row.champion is not None:
        champion = PairChampion(
            version=row.champion.version,
            family=row.family,
            since=row.champion_since,
            age_days=row.champion_age_days(today),
            served=served is not None and served.version == row.champion.version,
        )
    forecast = None if row.forecast is None else PairForecast(**row.forecast)
    skill = None
    if row.skill is not None:
        s = row.skill
        skill = Skill(
            verdict=s.shown,
            adjusted=s.adjusted,
            p_value=s.p_value,
            p_bh=s.p_bh,
            p_holm=s.p_holm,
            skilful=s.skilful,
            skilful_adjusted=s.skilful_adjusted,
        )
    return PairEntry(
        pair=row.pair,
        label=row.label,
        model_name=row.model_name,
        champion=champion,
        # What the service itself knows first: a version it refused, a registry outage.
        problem=None if served is not None else (holder.problem or row.message),
        forecast=forecast,
        data_as_of=row.newest_bar,
        trading_days_behind=row.behind,
        stale=row.stale,
        skill=skill,
        drifted=None if row.drift is None else row.drift.fired,
        drift=None if row.drift is None else row.drift.summary,
        decayed=None if row.decay is None else row.decay.fired,
        decay=None if row.decay is None else row.decay.summary,
    )


@book_routes.get(
    "/pairs",
    response_model=BookReport,
    responses=NO_WAREHOUSE,
    summary="The book: each pair's champion, newest forecast, freshness and skill verdict",
)
def pairs(request: Request) -> BookReport:
    holders = holders_of(request)
    today = request.app.state.today()
    first = next(iter(holders.holders.values()))
    with warehouse_errors():
        book = read_book(
            warehouse_of(request),
            holders.book,
            registry=first.reader,
            today=today,
            stale_after=request.app.state.stale_after_days,
        )
    return BookReport(
        headline=book.headline,
        adjusted=book.adjusted,
        pairs=[_entry(row, holders.holders[row.pair], today) for row in book.rows],
    )
