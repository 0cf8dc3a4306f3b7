"""``fx run``'s last stage: the predictions job in the Dagster instance, and the forecast line."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from fx_assets.cli.run import run_predictions
from tests.support.champions import (
    CUTOFF,
    END,
    START,
    fill_warehouse,
    mlflow_db_template,  # noqa: F401  (fixture)
    register_champion,
    seed_home,
)


@pytest.fixture
def home(fx_home: Path, mlflow_db_template: Path) -> Path:  # noqa: F811
    seed_home(fx_home, mlflow_db_template)
    return fx_home


@pytest.fixture
def definitions_here(home: Path) -> None:
    """``fx_assets.definitions`` rebuilt for this home: its resources read the environment
    when the module is imported, and an earlier test module may have imported it."""
    import fx_assets.definitions

    importlib.reload(fx_assets.definitions)


def test_run_predictions_prints_the_forecast(home: Path, definitions_here: None) -> None:
    url = f"sqlite:///{home / 'warehouse.db'}"
    _rows, failures = run_predictions(lambda _line: None)
    assert "no champion model" in failures["EURUSD"]
    final = fill_warehouse(url, START, END)
    version = register_champion(final, CUTOFF)
    lines: list[str] = []
    rows, failures = run_predictions(lines.append)
    row = rows["EURUSD"]
    assert row is not None and not failures
    (forecast,) = [line for line in lines if "forecast for" in line]  # monitoring lines follow
    assert "forecast for 2024-10-01 (features of 2024-09-30)" in forecast
    assert f"eur_usd_direction v{version}" in forecast
    assert ("UP" in forecast) == (row["direction"] == 1)


def test_a_run_in_this_process_leaves_the_package_warnings_on(
    home: Path, definitions_here: None, caplog: pytest.LogCaptureFixture
) -> None:
    """One pair runs in the calling process, quietly: afterwards the package's own warnings
    reach the caller's logging again (they once stayed at ERROR for the rest of a test session,
    and five tests of the sources' retry warnings failed after this module)."""
    import logging

    run_predictions(lambda _line: None)

    caplog.set_level(logging.WARNING)
    logging.getLogger("fx_assets.core.ingestion.twelvedata").warning("a retry, say")
    assert [r.getMessage() for r in caplog.records] == ["a retry, say"]
