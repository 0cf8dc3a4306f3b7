"""The model service: the champion over REST, and the stored forecasts.

Run with ``fx api`` or ``uvicorn fx_serving.app:app``. Settings are read when the
app starts (not at import): ``FX_API_TOKEN`` (bearer token for every route but
``/health``, ``/metrics`` and the docs; required, at least 32 characters, unless
``FX_API_ANONYMOUS=true``: ``fx_serving.access`` states the policy and why those four
are open), ``FX_METRICS_TOKEN`` (``/metrics`` needs it when set),
``FX_CHAMPION_RELOAD_SECONDS`` (how often the ``champion`` alias is checked, default 30)
and the warehouse and MLflow settings of ``fx_assets.core.settings``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse

from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.readmodel.registry import RegistryReader
from fx_assets.core.readmodel.stores import open_warehouse
from fx_assets.core.settings import Settings, load_settings
from fx_serving.access import FailClosed, api_token, warn_if_anonymous
from fx_serving.book import book_routes
from fx_serving.holder import BookHolders
from fx_serving.metrics import MetricsMiddleware
from fx_serving.monitoring import monitoring_routes
from fx_serving.routes import open_routes, predict_routes, routes
from fx_serving.schemas import PredictRequest

STARTUP_LOAD_SECONDS = 60.0


def reload_interval() -> float:
    """FX_CHAMPION_RELOAD_SECONDS, checked: how often the champion alias is looked up."""
    return load_settings().champion_reload_seconds


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    # Only where and what: echoing the input back could hold NaN, which is not JSON.
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": detail}, status_code=422)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = load_settings()
    app.state.token = api_token(settings)  # FailClosed has refused a start without one
    warn_if_anonymous(app.state.token)
    app.state.stale_after_days = settings.stale_after_days
    app.state.metrics_token = settings.secret(settings.metrics_token)
    # Read only, through the read model: the tables are the pipeline's to create and the
    # registry training's to write (the deployment reads with a read-only role).
    app.state.warehouse = open_warehouse(settings.warehouse_url)
    interval = app.state.reload_seconds or reload_interval()
    # Every pair of the book, loaded now (fx_serving.holder says why not lazily).
    holders = BookHolders(settings.book, RegistryReader(settings.mlflow_tracking_uri))
    app.state.holders = holders
    first = asyncio.create_task(asyncio.to_thread(holders.refresh))
    # Ready at start-up in the usual case; a registry that does not answer (MLflow's HTTP
    # client retries for minutes) leaves the load running and /ready saying so.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.shield(first), STARTUP_LOAD_SECONDS)
    # Everything imported and loaded so far lives as long as the process: keep it out of
    # the cyclic collector, whose full passes over it would stall requests for tens of ms.
    gc.collect()
    gc.freeze()
    watcher = asyncio.create_task(holders.watch(interval))
    try:
        yield
    finally:
        for task in (first, watcher):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        app.state.warehouse.dispose()


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the /predict body, which that route validates itself."""
    if app.openapi_schema is None:
        spec = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        body = PredictRequest.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(body.pop("$defs", {}))
        schemas["PredictRequest"] = body
        app.openapi_schema = spec
    return app.openapi_schema


def _utc_today() -> date:
    return datetime.now(UTC).date()


def create_app(
    reload_seconds: float | None = None, today: Callable[[], date] | None = None
) -> FastAPI:
    """The service; ``reload_seconds`` overrides FX_CHAMPION_RELOAD_SECONDS and ``today``
    the clock that decides what is stale (tests)."""
    app = FastAPI(
        title="fx model service",
        version="1",
        summary="Next-day direction of each pair of the book from its champion model, and the"
        " stored forecasts.",
        description=(
            "Scores feature rows with the registered champion of a pair (`eur_usd_direction`,"
            " `gbp_usd_direction`, ...) and serves the forecasts stored by the pipeline. Every"
            " route takes the pair (`?pair=GBPUSD`, or `pair` in the `/predict` body), EURUSD"
            " when absent; `/pairs` lists the book. Every route but `/health`, `/metrics` "
            "and the docs needs `Authorization: Bearer <FX_API_TOKEN>` (unless the service "
            "was started with `FX_API_ANONYMOUS=true`)."
        ),
        lifespan=lifespan,
    )
    # Until the lifespan reads FX_PAIRS: the default pair alone, nothing loaded.
    app.state.holders = BookHolders((DEFAULT_PAIR,))
    app.state.reload_seconds = reload_seconds
    app.state.token = None
    app.state.today = today or _utc_today
    app.state.stale_after_days = Settings.model_fields["stale_after_days"].default
    app.state.metrics_token = None
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(FailClosed)  # outermost: it decides whether the service starts
    app.add_exception_handler(RequestValidationError, _validation_error)
    # /predict first: routes are matched in order and it is the one called per row.
    app.include_router(predict_routes)
    app.include_router(open_routes)
    app.include_router(routes)
    app.include_router(monitoring_routes)
    app.include_router(book_routes)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


app = create_app()
