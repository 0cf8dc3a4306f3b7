"""``GET /monitoring``: the newest drift and performance rows, read-only, behind the API token."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from fx_assets.core.contracts import DRIFT, PERFORMANCE
from fx_assets.core.monitoring.store import newest_rows
from fx_serving.routes import _no_warehouse, _unauthorized, require_token, warehouse_errors


class DriftRow(BaseModel):
    feature: str
    reference_start: date
    reference_end: date
    window_start: date
    window_end: date
    psi: float
    ks_stat: float
    ks_pvalue: float
    ks_threshold: float | None = Field(
        None, description="the KS distance this feature is held to (none on older rows)"
    )
    outside_share: float | None = Field(
        None, description="share of the window outside the training range"
    )
    outside_threshold: float | None = None
    range_low: float | None = None
    range_high: float | None = None
    drifted: bool
    rule: str | None = Field(None, description="the rule that decided: range, ks or none")
    reason: str | None = Field(None, description="the verdict in words")
    model_version: str


class PerformanceRow(BaseModel):
    window: str = Field(description="20, 60, 250 or all resolved predictions")
    window_end: date
    n: int
    accuracy: float | None
    baseline_accuracy: float | None = Field(description="always-up on the same days")
    brier: float | None
    p_value: float | None = Field(description="exact one-sided binomial test: worse than always-up")
    constant_brier: float | None = None
    degraded: bool
    rule: str | None = Field(None, description="the rule that decided: binomial, brier or none")
    verdict: str | None = Field(None, description="the verdict in words")
    up_share: float | None = None
    train_up_share: float | None = None
    mean_probability_up: float | None = None
    train_mean_probability_up: float | None = None
    prediction_drifted: bool | None = None


class MonitoringReport(BaseModel):
    drift: list[DriftRow] = Field(description="the newest window, one row per feature")
    performance: list[PerformanceRow] = Field(description="the newest rows, one per window")


def _plain(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-able values: dates as dates, NaN as None."""
    out = []
    for record in rows.to_dict("records"):
        clean: dict[str, Any] = {}
        for key, value in record.items():
            if isinstance(value, float) and math.isnan(value):
                value = None
            elif isinstance(value, pd.Timestamp):
                value = value.date()
            clean[key] = value
        out.append(clean)
    return out


monitoring_routes = APIRouter(dependencies=[Depends(require_token)], responses=_unauthorized)


@monitoring_routes.get(
    "/monitoring",
    response_model=MonitoringReport,
    responses=_no_warehouse,
    summary="The newest feature-drift and realized-performance rows",
)
def monitoring(request: Request) -> MonitoringReport:
    wh = request.app.state.warehouse
    with warehouse_errors():
        drift = newest_rows(wh, DRIFT)
        performance = newest_rows(wh, PERFORMANCE)
    if len(drift):
        drift = drift.sort_values("ks_stat", ascending=False, ignore_index=True)
    return MonitoringReport(
        drift=[DriftRow(**r) for r in _plain(drift)],
        performance=[PerformanceRow(**r) for r in _plain(performance)],
    )
