"""What the routes depend on: the token check, the champion, the read model's stores.

Shared by every router module (``routes``, ``monitoring``), so none imports another's
private names.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPBearer
from sqlalchemy.exc import SQLAlchemyError

from fx_assets.core.ingestion.freshness import Freshness
from fx_assets.core.models.champion import Champion
from fx_assets.core.readmodel.data import data_status
from fx_assets.core.readmodel.stores import ReadOnlyWarehouse
from fx_serving.holder import ChampionHolder
from fx_serving.schemas import ErrorBody, FieldErrors

UNAUTHORIZED = {401: {"model": ErrorBody, "description": "Missing or wrong bearer token."}}
NO_CHAMPION = {503: {"model": ErrorBody, "description": "No champion model loaded yet."}}
NO_WAREHOUSE = {503: {"model": ErrorBody, "description": "Warehouse down or not created."}}
INVALID = {422: {"model": FieldErrors, "description": "Invalid input; `loc` names the field."}}

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


def champion_of(request: Request) -> Champion:
    holder: ChampionHolder = request.app.state.holder
    champion = holder.champion
    if champion is None:
        raise HTTPException(503, detail=holder.problem)
    return champion


def warehouse_of(request: Request) -> ReadOnlyWarehouse:
    """The read model's read-only warehouse, opened by the lifespan."""
    return request.app.state.warehouse


def data_status_of(request: Request) -> tuple[Freshness, date]:
    """How current the bars are, as of the service's today (UTC; a clock in tests)."""
    today: date = request.app.state.today()
    return data_status(warehouse_of(request), today, request.app.state.stale_after_days), today


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
