"""Contract of the first start's progress: one row per step the bootstrap sensor launched."""

from __future__ import annotations

import sqlalchemy as sa

from fx_assets.core.contracts.base import Col, TableContract

BOOTSTRAP = TableContract(
    name="fx_bootstrap",
    description=(
        "The first start on an empty warehouse: the backfill, training and forecast runs the"
        " bootstrap sensor launched, as the dashboard shows them while the tables fill."
    ),
    columns=(
        Col("step", sa.String, "the job: etl_job, training_job or predictions_job", size=32),
        Col("run_id", sa.String, "its Dagster run; empty until the run exists", nullable=True),
        Col("status", sa.String, "launching, queued, started, success, failure...", size=16),
        Col("started_at", sa.DateTime, "when the run started", nullable=True),
        Col("updated_at", sa.DateTime, "when the sensor last looked"),
    ),
    key=("step",),
)
