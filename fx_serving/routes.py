"""The service's routes. ``/predict`` is the hot path; the others read the warehouse."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from fx_assets.core.evaluation.trading import DISCLAIMER
from fx_assets.core.ingestion.freshness import Freshness, forecast_is_stale
from fx_assets.core.models.ranges import out_of_range_rows
from fx_assets.core.readmodel.backtest import backtest_summary
from fx_assets.core.readmodel.predictions import newest_forecast, predictions_with_outcomes
from fx_assets.core.readmodel.rows import records
from fx_assets.core.readmodel.status import monitoring_status
from fx_serving import metrics
from fx_serving.deps import (
    INVALID,
    NO_CHAMPION,
    NO_WAREHOUSE,
    UNAUTHORIZED,
    UNKNOWN_PAIR,
    PairParam,
    champion_of,
    check_token,
    data_status_of,
    holders_of,
    known_pair,
    require_token,
    warehouse_errors,
    warehouse_of,
)
from fx_serving.schemas import (
    Backtest,
    BacktestRow,
    ErrorBody,
    Forecast,
    IsoDate,
    ModelCard,
    PredictRequest,
    PredictResponse,
    ScoredPrediction,
    Status,
)

# Above this many rows, score in a worker thread so one big batch does not stall others.
INLINE_ROWS = 64
# 512 rows of 18 features are about 300 kB of JSON.
MAX_BODY_BYTES = 1_000_000


def _invalid_input(loc: tuple[Any, ...], msg: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg, "type": kind}])


open_routes = APIRouter()
routes = APIRouter(
    dependencies=[Depends(require_token)], responses={**UNAUTHORIZED, **UNKNOWN_PAIR}
)
# No FastAPI dependencies or body parameter here: the body is parsed and validated in one
# step by pydantic's JSON parser, a third of the per-request cost of the generic path.
predict_routes = APIRouter()


@predict_routes.post(
    "/predict",
    response_model=PredictResponse,
    responses={**UNAUTHORIZED, **INVALID, **NO_CHAMPION, **UNKNOWN_PAIR},
    summary="Score feature rows with the pair's champion",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/PredictRequest"}}
            },
        },
        "security": [{"HTTPBearer": []}],
    },
)
async def predict(request: Request) -> Response:
    check_token(request)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise _invalid_input(
                ("body",), f"body over {MAX_BODY_BYTES} bytes; send fewer rows", "too_large"
            )
    try:
        body = PredictRequest.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_input=False)]
        ) from None
    pair = known_pair(request, body.pair)
    champion = champion_of(request, pair)
    x = np.array([[row.__dict__[f] for f in champion.features] for row in body.rows], dtype=float)
    if len(x) > INLINE_ROWS:
        p, d = await run_in_threadpool(champion.score, x)
    else:
        p, d = champion.score(x)
    metrics.count_predictions(pair, d)
    if not np.isfinite(p).all():
        bad = int(np.flatnonzero(~np.isfinite(p))[0])
        raise _invalid_input(
            ("body", "rows", bad), "the model gives no probability for this row", "model_output"
        )
    out = {
        "pair": pair,
        "model_name": champion.name,
        "model_version": champion.version,
        "predictions": [
            {"probability_up": pi, "direction": di, "out_of_range": oi}
            for pi, di, oi in zip(
                p.tolist(), d.tolist(), out_of_range_rows(x, champion.ranges), strict=True
            )
        ],
    }
    return Response(orjson.dumps(out), media_type="application/json")


@open_routes.get("/health", response_model=Status, summary="The process is alive")
async def health() -> Status:
    return Status(status="ok")


@open_routes.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format."},
        **UNAUTHORIZED,
    },
    summary="Prometheus metrics (open like /health unless FX_METRICS_TOKEN is set)",
)
def prometheus_metrics(request: Request) -> Response:
    if not metrics.token_ok(
        request.app.state.metrics_token, request.headers.get("authorization", "")
    ):
        raise HTTPException(
            401,
            detail="missing or wrong bearer token: send Authorization: Bearer <FX_METRICS_TOKEN>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # An app built without the lifespan (tests, embedding) has no warehouse at all.
    wh = getattr(request.app.state, "warehouse", None)
    try:
        statuses = (
            None
            if wh is None
            else {pair: monitoring_status(wh, pair=pair) for pair in holders_of(request).book}
        )
    except SQLAlchemyError:
        statuses = None  # fx_warehouse_up 0: the alert rules see no state, not a stale one
    body, content_type = metrics.render(statuses)
    return Response(body, media_type=content_type)


@routes.get(
    "/ready", response_model=Status, responses=NO_CHAMPION, summary="The pair's champion is loaded"
)
async def ready(request: Request, pair: PairParam) -> Status:
    return Status(status="ready", model_version=champion_of(request, pair).version)


@routes.get(
    "/model", response_model=ModelCard, responses=NO_CHAMPION, summary="The pair's champion"
)
async def model(request: Request, pair: PairParam) -> ModelCard:
    c = champion_of(request, pair)
    card = ModelCard.model_validate(c, from_attributes=True)
    ranges = json.loads(c.ranges.to_tag()) if c.ranges else None
    return card.model_copy(update={"feature_ranges": ranges, "pair": pair})


def _status_fields(target: date, fresh: Freshness, today: date) -> dict[str, Any]:
    return {"data_as_of": fresh.newest, "stale": forecast_is_stale(target, fresh, today)}


@routes.get(
    "/forecast/latest",
    response_model=Forecast,
    responses={
        404: {"model": ErrorBody, "description": "No forecast stored yet."},
        **NO_WAREHOUSE,
    },
    summary="The pair's newest stored next-day forecast",
)
def forecast_latest(request: Request, pair: PairParam) -> Forecast:
    with warehouse_errors():
        row = newest_forecast(warehouse_of(request), pair=pair)
        if row is None:
            raise HTTPException(
                404, detail=f"no {pair} forecast stored yet; run the predictions (fx run)"
            )
        fresh, today = data_status_of(request, pair)
    target = row["target_date"].date()
    return Forecast(**row, **_status_fields(target, fresh, today))


@routes.get(
    "/predictions",
    response_model=list[ScoredPrediction],
    responses=NO_WAREHOUSE,
    summary="The pair's stored forecasts by feature date, with the outcome where known",
)
def predictions(
    request: Request,
    pair: PairParam,
    start: Annotated[IsoDate | None, Query(description="First feature date (YYYY-MM-DD).")] = None,
    end: Annotated[IsoDate | None, Query(description="Last feature date (YYYY-MM-DD).")] = None,
) -> list[ScoredPrediction]:
    if start is not None and end is not None and start > end:
        raise _invalid_input(("query", "start"), f"start {start} is after end {end}", "date_range")
    with warehouse_errors():
        joined = predictions_with_outcomes(warehouse_of(request), start, end, pair=pair)
        if joined.empty:
            return []
        fresh, today = data_status_of(request, pair)
    return [
        ScoredPrediction(**row, **_status_fields(row["target_date"].date(), fresh, today))
        for row in records(joined)
    ]


@routes.get(
    "/backtest",
    response_model=Backtest,
    responses={404: {"model": ErrorBody, "description": "No backtest yet."}, **NO_WAREHOUSE},
    summary="The pair's walk-forward backtest: model and baselines, intervals, p-values",
)
def backtest(request: Request, pair: PairParam) -> Backtest:
    with warehouse_errors():
        found = backtest_summary(warehouse_of(request), pair=pair)
    if found.summary is None:
        raise HTTPException(
            404, detail=f"no {pair} backtest yet; the weekly training (or fx run) computes it"
        )
    return Backtest(
        pair=pair,
        verdict=found.verdict,
        verdicts=found.verdicts,
        strategies=[BacktestRow(**r) for r in records(found.summary)],
        trading_note=DISCLAIMER,
    )
