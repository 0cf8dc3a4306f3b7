"""What Prometheus alerts on, read from the warehouse: the WARN checks and the newest ETL.

Dagster-free. The model service exports it on ``/metrics`` (``fx_monitoring_check_failed``,
``fx_etl_last_ingested_timestamp_seconds``): the checks' state lives in the monitoring
tables, which every deployment's model service can read, so the rules in
``deploy/prometheus/alerts.yml`` need no Dagster metrics exporter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from fx_assets.core.contracts import DRIFT, PERFORMANCE, RAW
from fx_assets.core.monitoring import findings
from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.readmodel.monitoring import newest_rows
from fx_assets.core.readmodel.stores import pair_code
from fx_assets.core.warehouse import Warehouse


@dataclass(frozen=True)
class Status:
    checks_failed: dict[str, bool]  # check -> fired on its newest rows (absent: no rows)
    newest_ingested: datetime | None


def monitoring_status(wh: Warehouse, *, pair: str = DEFAULT_PAIR) -> Status:
    """``pair``'s WARN checks on its newest monitoring rows, and its newest ingestion."""
    code = pair_code(pair)
    checks: dict[str, bool] = {}
    drift, perf = newest_rows(wh, DRIFT, pair=code), newest_rows(wh, PERFORMANCE, pair=code)
    if len(drift):
        checks["feature_drift"] = findings.feature_drift(drift).fired
    if len(perf):
        checks["performance_decay"] = findings.performance_decay(perf).fired
    newest = None
    if wh.has(RAW):
        with wh.engine.connect() as conn:
            t = RAW.table
            found = conn.execute(
                sa.select(sa.func.max(t.c.ingested_at)).where(t.c.pair == code)
            ).scalar()
        newest = None if found is None else pd.Timestamp(found).to_pydatetime()
    return Status(checks, newest)
