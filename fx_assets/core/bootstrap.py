"""The first start's progress, Dagster-free: what the bootstrap sensor records and the
dashboard shows while an empty warehouse fills (the dashboard cannot ask Dagster).

The sensor (``fx_assets/defs/bootstrap``) launches the history's backfill, then the
training, then the first forecast, once; after each tick it records the step it is on
here, and the dashboard's empty state reads it back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from fx_assets.core.contracts import BOOTSTRAP
from fx_assets.core.warehouse import Warehouse

# The jobs of a first start, in order, and how a person reads each of them.
STEPS = ("etl_job", "features_job", "training_job", "predictions_job")
LABELS = {
    "etl_job": "first backfill",
    "features_job": "first features",
    "training_job": "first training",
    "predictions_job": "first forecast",
}


@dataclass(frozen=True)
class BootstrapStatus:
    """The step the first start is on, and its run."""

    step: str
    run_id: str | None
    status: str
    started_at: datetime | None
    updated_at: datetime

    @property
    def done(self) -> bool:
        return self.step == STEPS[-1] and self.status == "success"

    def message(self) -> str:
        """One line for a person, e.g. "first backfill running, started 12:01 UTC, run ab12cd34"."""
        label = LABELS.get(self.step, self.step)
        run = f"run {self.run_id[:8]}" if self.run_id else "run being created"
        if self.done:
            return "First start done: the history, a champion per pair and their first forecasts."
        if self.status in ("failure", "canceled"):
            ended = f"the {label} ({run}) ended {self.status}"
            return f"First start stopped: {ended}; see the Dagster UI."
        if self.status == "success":
            nxt = LABELS[STEPS[STEPS.index(self.step) + 1]]
            return f"First start: {label} done ({run}); the {nxt} comes next."
        if self.status == "started" and self.started_at is not None:
            return f"First start: {label} running, started {self.started_at:%H:%M} UTC, {run}."
        return f"First start: {label} queued, {run}."


def record_step(
    wh: Warehouse,
    step: str,
    run_id: str | None,
    status: str,
    started_at: datetime | None,
    now: datetime,
) -> None:
    """Replace ``step``'s row: the sensor calls it whenever the step's run changes."""
    row = {
        "step": step,
        "run_id": run_id,
        "status": status,
        "started_at": started_at,
        "updated_at": now,
    }
    wh.replace_where(BOOTSTRAP, pd.DataFrame([row]), step=step)


def bootstrap_status(wh: Warehouse) -> BootstrapStatus | None:
    """The newest step of the first start; None when there was none (or an older warehouse)."""
    if not wh.has(BOOTSTRAP):
        return None
    rows = wh.read(BOOTSTRAP)  # a row per step: a handful at most
    if rows.empty:
        return None
    row = rows.sort_values("updated_at").iloc[-1]
    return BootstrapStatus(
        step=str(row["step"]),
        run_id=None if pd.isna(row["run_id"]) else str(row["run_id"]),
        status=str(row["status"]),
        started_at=None if pd.isna(row["started_at"]) else row["started_at"].to_pydatetime(),
        updated_at=row["updated_at"].to_pydatetime(),
    )
