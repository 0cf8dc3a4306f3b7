"""The service's routes. ``/predict`` is the hot path; the others read the warehouse."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

import numpy as np
import orjson
import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPBearer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from fx_assets.core.contracts import BACKTEST_SUMMARY, FINAL, PREDICTIONS, RAW
from fx_assets.core.evaluation.summary import BASELINES, verdict
from fx_assets.core.evaluation.trading import DISCLAIMER
from fx_assets.core.ingestion.freshness import Freshness, forecast_is_stale, freshness
from fx_assets.core.models.champion import Champion
from fx_assets.core.models.ranges import from_column, out_of_range_rows
from fx_assets.core.monitoring.status import monitoring_status
from fx_assets.core.warehouse import Warehouse
from fx_serving import metrics
from fx_serving.holder import ChampionHolder
from fx_serving.schemas import (
    Backtest,
    BacktestRow,
    ErrorBody,
    FieldErrors,
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

_bearer = HTTPBearer(auto_error=False, description="Required when FX_API_TOKEN is set.")
_unauthorized = {401: {"model": ErrorBody, "description": "Missing or wrong bearer token."}}
_no_champion = {503: {"model": ErrorBody, "description": "No champion model loaded yet."}}
_no_warehouse = {503: {"model": ErrorBody, "description": "Warehouse down or not created."}}
_invalid = {422: {"model": FieldErrors, "description": "Invalid input; `loc` names the field."}}


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


def warehouse_of(request: Request) -> Warehouse:
    return request.app.state.warehouse


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


def _invalid_input(loc: tuple[Any, ...], msg: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg, "type": kind}])


open_routes = APIRouter()
routes = APIRouter(dependencies=[Depends(require_token)], responses=_unauthorized)
# No FastAPI dependencies or body parameter here: the body is parsed and validated in one
# step by pydantic's JSON parser, a third of the per-request cost of the generic path.
predict_routes = APIRouter()


@predict_routes.post(
    "/predict",
    response_model=PredictResponse,
    responses={**_unauthorized, **_invalid, **_no_champion},
    summary="Score feature rows with the champion",
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
    champion = champion_of(request)
    x = np.array([[row.__dict__[f] for f in champion.features] for row in body.rows], dtype=float)
    if len(x) > INLINE_ROWS:
        p, d = await run_in_threadpool(champion.score, x)
    else:
        p, d = champion.score(x)
    metrics.count_predictions(d)
    if not np.isfinite(p).all():
        bad = int(np.flatnonzero(~np.isfinite(p))[0])
        raise _invalid_input(
            ("body", "rows", bad), "the model gives no probability for this row", "model_output"
        )
    out = {
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
        **_unauthorized,
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
        status = None if wh is None else monitoring_status(wh)
    except SQLAlchemyError:
        status = None  # fx_warehouse_up 0: the alert rules see no state rather than a stale one
    body, content_type = metrics.render(status)
    return Response(body, media_type=content_type)


@routes.get("/ready", response_model=Status, responses=_no_champion, summary="A champion is loaded")
async def ready(request: Request) -> Status:
    return Status(status="ready", model_version=champion_of(request).version)


@routes.get("/model", response_model=ModelCard, responses=_no_champion, summary="The champion")
async def model(request: Request) -> ModelCard:
    c = champion_of(request)
    return ModelCard(
        name=c.name,
        version=c.version,
        run_id=c.run_id,
        features=list(c.features),
        training_cutoff=c.training_cutoff,
        test_pr_auc=c.test_pr_auc,
        baseline_pr_auc=c.baseline_pr_auc,
        loaded_at=c.loaded_at,
        decision=c.decision,
        decision_policy=c.decision_policy,
        decision_lift=c.decision_lift,
        decision_lift_ci_low=c.decision_lift_ci_low,
        decision_lift_ci_high=c.decision_lift_ci_high,
        feature_ranges=json.loads(c.ranges.to_tag()) if c.ranges else None,
    )


def _data_status(request: Request) -> tuple[Freshness, date]:
    """How current the bars are, as of the service's today (UTC; a clock in tests)."""
    today: date = request.app.state.today()
    newest = warehouse_of(request).date_range(RAW)[1]
    return freshness(newest, today, request.app.state.stale_after_days), today


def _status_fields(row: dict[str, Any], fresh: Freshness, today: date) -> dict[str, Any]:
    target = pd.Timestamp(row["target_date"]).date()
    return {"data_as_of": fresh.newest, "stale": forecast_is_stale(target, fresh, today)}


def _stored(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "feature_date": pd.Timestamp(row["feature_date"]).date(),
        "target_date": pd.Timestamp(row["target_date"]).date(),
        "probability_up": float(row["probability_up"]),
        "direction": int(row["direction"]),
        "model_name": str(row["model_name"]),
        "model_version": str(row["model_version"]),
        "predicted_at": pd.Timestamp(row["predicted_at"]).to_pydatetime(),
        "out_of_range": from_column(row.get("out_of_range")),
    }


@routes.get(
    "/forecast/latest",
    response_model=Forecast,
    responses={
        404: {"model": ErrorBody, "description": "No forecast stored yet."},
        **_no_warehouse,
    },
    summary="The newest stored next-day forecast",
)
def forecast_latest(request: Request) -> Forecast:
    with warehouse_errors():
        newest = warehouse_of(request).read(PREDICTIONS, newest=1)
        if newest.empty:
            raise HTTPException(404, detail="no forecast stored yet; run the predictions (fx run)")
        fresh, today = _data_status(request)
    row = newest.iloc[0].to_dict()
    return Forecast(**_stored(row), **_status_fields(row, fresh, today))


@routes.get(
    "/predictions",
    response_model=list[ScoredPrediction],
    responses=_no_warehouse,
    summary="Stored forecasts by feature date, with the actual outcome where known",
)
def predictions(
    request: Request,
    start: Annotated[IsoDate | None, Query(description="First feature date (YYYY-MM-DD).")] = None,
    end: Annotated[IsoDate | None, Query(description="Last feature date (YYYY-MM-DD).")] = None,
) -> list[ScoredPrediction]:
    if start is not None and end is not None and start > end:
        raise _invalid_input(("query", "start"), f"start {start} is after end {end}", "date_range")
    wh = warehouse_of(request)
    with warehouse_errors():
        stored = wh.read(PREDICTIONS, start=start, end=end)
        if stored.empty:
            return []
        outcomes = wh.read(
            FINAL,
            start=stored["feature_date"].min().date(),
            end=stored["feature_date"].max().date(),
            columns=["date", "target"],
        )
        fresh, today = _data_status(request)
    actual = dict(zip(outcomes["date"], outcomes["target"], strict=True))
    out = []
    for row in stored.to_dict("records"):
        known = actual.get(row["feature_date"])
        value = None if known is None or pd.isna(known) else int(known)
        out.append(
            ScoredPrediction(
                **_stored(row),
                **_status_fields(row, fresh, today),
                actual=value,
                correct=None if value is None else int(row["direction"]) == value,
            )
        )
    return out


def _number(value: Any) -> Any:
    return None if value is None or pd.isna(value) else value


@routes.get(
    "/backtest",
    response_model=Backtest,
    responses={404: {"model": ErrorBody, "description": "No backtest yet."}, **_no_warehouse},
    summary="The walk-forward backtest's skill: model and baselines, intervals, p-values",
)
def backtest(request: Request) -> Backtest:
    wh = warehouse_of(request)
    with warehouse_errors():
        summary = wh.read(BACKTEST_SUMMARY) if wh.has(BACKTEST_SUMMARY) else pd.DataFrame()
    if summary.empty:
        raise HTTPException(
            404, detail="no backtest yet; the weekly training (or fx run) computes it"
        )
    rows = [
        BacktestRow(**{k: _number(v) for k, v in row.items()}) for row in summary.to_dict("records")
    ]
    words = {b: verdict(summary, b) for b in BASELINES}
    return Backtest(
        verdict=words["always_up"], verdicts=words, strategies=rows, trading_note=DISCLAIMER
    )
