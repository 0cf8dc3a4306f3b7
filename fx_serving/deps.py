"""What the routes depend on: the token check, the pair, its champion, the read model's
stores.

Shared by every router module (``routes``, ``monitoring``), so none imports another's
private names.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Query, Request
from fastapi.security import HTTPBearer
from sqlalchemy.exc import SQLAlchemyError

from fx_assets.core.ingestion.freshness import Freshness
from fx_assets.core.models.champion import Champion
from fx_assets.core.pairs import DEFAULT_PAIR, Pair, PairError
from fx_assets.core.readmodel.data import data_status
from fx_assets.core.readmodel.stores import ReadOnlyWarehouse
from fx_serving.holder import BookHolders
from fx_serving.metrics import PAIR_SCOPE_KEY
from fx_serving.schemas import ErrorBody, FieldErrors

UNAUTHORIZED = {401: {"model": ErrorBody, "description": "Missing or wrong bearer token."}}
NO_CHAMPION = {503: {"model": ErrorBody, "description": "No champion model loaded yet."}}
NO_WAREHOUSE = {503: {"model": ErrorBody, "description": "Warehouse down or not created."}}
INVALID = {422: {"model": FieldErrors, "description": "Invalid input; `loc` names the field."}}
UNKNOWN_PAIR = {404: {"model": ErrorBody, "description": "A pair not in the book (FX_PAIRS)."}}
PAIR_DOC = "The pair, base then quote (EURUSD); one of the book's (`GET /pairs`)."
# Longer than any spelling of a pair ("eur/usd"): what an error message may quote back.
_QUOTED = 16

_bearer = HTTPBearer(auto_error=False, description="FX_API_TOKEN (unless FX_API_ANONYMOUS=true).")


def check_token(request: Request) -> None:
    """401 unless the service has no token or the request carries it as a bearer token."""
    token: str | None = request.app.state.token
    if token is None:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(given.encode(), token.encode()):
        raise HTTPException(
            401,
            detail="missing or wrong bearer token: send Authorization: Bearer <FX_API_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def require_token(request: Request, _: Annotated[Any, Depends(_bearer)]) -> None:
    check_token(request)


def holders_of(request: Request) -> BookHolders:
    return request.app.state.holders


def known_pair(request: Request, pair: str) -> str:
    """``pair`` as the book spells it, or a 404 naming the pairs the service serves. The
    checked pair becomes the request's metrics label (never the string as sent)."""
    book = holders_of(request).book
    try:
        code: str | None = Pair.parse(pair).code
    except PairError:
        code = None
    if code not in book:
        raise HTTPException(
            404,
            detail=f"unknown pair {pair[:_QUOTED]!r}: this service serves {', '.join(book)}"
            " (FX_PAIRS)",
        )
    request.scope[PAIR_SCOPE_KEY] = code
    return code


def pair_query(
    request: Request,
    pair: Annotated[str, Query(description=PAIR_DOC, examples=["EURUSD"])] = DEFAULT_PAIR,
) -> str:
    return known_pair(request, pair)


# A route's ``pair: PairParam``: ``?pair=`` checked against the book, EURUSD when absent.
PairParam = Annotated[str, Depends(pair_query)]


def champion_of(request: Request, pair: str = DEFAULT_PAIR) -> Champion:
    holder = holders_of(request).get(pair)
    champion = None if holder is None else holder.champion
    if holder is None or champion is None:
        problem = "no such pair" if holder is None else holder.problem
        raise HTTPException(503, detail=problem)
    return champion


def warehouse_of(request: Request) -> ReadOnlyWarehouse:
    """The read model's read-only warehouse, opened by the lifespan."""
    return request.app.state.warehouse


def data_status_of(request: Request, pair: str = DEFAULT_PAIR) -> tuple[Freshness, date]:
    """How current ``pair``'s bars are, as of the service's today (UTC; a clock in tests)."""
    today: date = request.app.state.today()
    stale_after = request.app.state.stale_after_days
    return data_status(warehouse_of(request), today, stale_after, pair=pair), today


@contextlib.contextmanager
def warehouse_errors() -> Iterator[None]:
    """A warehouse that is down or not created yet is a 503, never a 500 (nor its URL)."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise HTTPException(
            503,
            detail=f"warehouse unavailable ({type(exc).__name__}); "
            "check FX_WAREHOUSE_URL, or create the tables with fx migrate or fx run",
        ) from None
