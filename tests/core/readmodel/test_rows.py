"""Row types derived from the table contracts: a column added to a contract is served as is."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fx_assets.core.contracts import (
    BACKTEST_SUMMARY,
    DRIFT,
    PERFORMANCE,
    PREDICTIONS,
    Col,
    TableContract,
    metadata,
)
from fx_assets.core.readmodel.rows import records, row_model


@pytest.fixture
def drift_plus() -> Iterator[TableContract]:
    """The drift contract as a maintainer would extend it: one more nullable column."""
    contract = TableContract(
        name="test_drift_with_one_more_column",
        description=DRIFT.description,
        columns=(
            *DRIFT.columns,
            Col("psi_trend", sa.Float, "PSI change since the previous window", nullable=True),
        ),
        key=DRIFT.key,
    )
    yield contract
    metadata.remove(contract.table)  # no other test's warehouse creates it


def test_a_nullable_column_added_to_a_contract_is_in_the_response(
    drift_plus: TableContract,
) -> None:
    row_type = row_model(drift_plus, name="DriftRow")
    field = row_type.model_fields["psi_trend"]
    assert field.description == "PSI change since the previous window"
    assert not field.is_required()  # older rows have none: null, not an error
    app = FastAPI()

    @app.get("/drift", response_model=list[row_type])  # type: ignore[valid-type]
    def drift() -> list[dict[str, object]]:
        row = {c: None for c in drift_plus.column_names}
        row.update(
            pair="EURUSD",
            feature="vol_5",
            window_end=date(2024, 6, 28),
            model_version="3",
            reference_start=date(2020, 1, 1),
            reference_end=date(2024, 1, 1),
            window_start=date(2024, 4, 1),
            psi=0.4,
            ks_stat=0.2,
            ks_pvalue=0.01,
            drifted=True,
            psi_trend=0.1,
        )
        return [row, {**row, "psi_trend": None}]

    client = TestClient(app)
    body = client.get("/drift").json()
    assert [r["psi_trend"] for r in body] == [0.1, None]
    assert set(body[0]) == set(drift_plus.column_names)
    schema = client.get("/openapi.json").json()["components"]["schemas"]["DriftRow"]
    assert schema["properties"]["psi_trend"]["description"] == (
        "PSI change since the previous window"
    )
    assert "psi_trend" not in schema.get("required", [])


@pytest.mark.parametrize("contract", [PREDICTIONS, DRIFT, PERFORMANCE, BACKTEST_SUMMARY])
def test_the_service_rows_are_the_contracts(contract: TableContract) -> None:
    from fx_serving import schemas

    served = {
        PREDICTIONS: schemas.StoredPrediction,
        DRIFT: schemas.DriftRow,
        PERFORMANCE: schemas.PerformanceRow,
        BACKTEST_SUMMARY: schemas.BacktestRow,
    }[contract]
    assert list(served.model_fields) == contract.column_names
    for col in contract.columns:
        field = served.model_fields[col.name]
        assert field.description == col.description
        assert field.is_required() is not col.nullable


def test_records_are_plain_values() -> None:
    frame = pd.DataFrame(
        {
            "day": pd.to_datetime(["2024-01-02", None]),
            "x": [np.float64(0.5), np.nan],
            "n": pd.array([3, None], dtype="Int64"),
            "ok": pd.array([True, None], dtype="boolean"),
        }
    )
    first, second = records(frame)
    assert first["day"].date() == date(2024, 1, 2) and type(first["x"]) is float
    assert type(first["n"]) is int and first["ok"] is True
    assert second == {"day": None, "x": None, "n": None, "ok": None}
