"""``GET /monitoring``: a pair's newest drift and performance rows, read-only, behind the
API token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from fx_assets.core.readmodel.monitoring import read_monitoring
from fx_assets.core.readmodel.rows import records
from fx_serving.deps import (
    NO_WAREHOUSE,
    UNAUTHORIZED,
    UNKNOWN_PAIR,
    PairParam,
    require_token,
    warehouse_errors,
    warehouse_of,
)
from fx_serving.schemas import DriftRow, MonitoringReport, PerformanceRow

monitoring_routes = APIRouter(
    dependencies=[Depends(require_token)], responses={**UNAUTHORIZED, **UNKNOWN_PAIR}
)


@monitoring_routes.get(
    "/monitoring",
    response_model=MonitoringReport,
    responses=NO_WAREHOUSE,
    summary="The pair's newest feature-drift and realized-performance rows",
)
def monitoring(request: Request, pair: PairParam) -> MonitoringReport:
    with warehouse_errors():
        found = read_monitoring(warehouse_of(request), pair=pair)
    return MonitoringReport(
        pair=pair,
        drift=[DriftRow(**r) for r in records(found.drift)],
        performance=[PerformanceRow(**r) for r in records(found.performance)],
    )
