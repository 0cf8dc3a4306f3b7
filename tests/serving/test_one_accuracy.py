"""Realized accuracy is one number: the service, the page's data and ``fx run`` agree."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from pathlib import Path

import httpx

from fx_assets.cli.run import run_predictions
from fx_assets.core.contracts import RAW
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.readmodel.accuracy import ROLLING_WINDOW, accuracy_summary
from fx_assets.core.warehouse import Warehouse
from fx_dash.reader import load_snapshot
from tests.support.champions import (
    CUTOFF,
    END,
    START,
    fill_warehouse,
    mlflow_db_template,  # noqa: F401  (fixture)
    register_champion,
    seed_home,
    uvicorn_process,
)

NOW = datetime(2024, 10, 1, tzinfo=UTC)


def test_realized_accuracy_is_the_same_on_every_surface(
    fx_home: Path,
    mlflow_db_template: Path,  # noqa: F811
) -> None:
    seed_home(fx_home, mlflow_db_template)
    url = f"sqlite:///{fx_home / 'warehouse.db'}"
    register_champion(fill_warehouse(url, START, END), CUTOFF)
    Warehouse(url).for_pair("EURUSD").replace_all(
        RAW, EcbSource().fetch(START, END).assign(source="ecb", ingested_at=NOW)
    )
    import fx_assets.definitions

    importlib.reload(fx_assets.definitions)  # the code location on this FX_HOME

    # fx run: the predictions job (scoring, then monitoring) and its report.
    lines: list[str] = []
    run_predictions(lines.append)
    # The decay verdict: the window's accuracy beside always-up's, whichever rule decided.
    (cli,) = [line for line in lines if "monitoring:" in line and "decayed" in line]

    # The service, over HTTP, from its own process.
    with uvicorn_process(fx_home) as service:
        performance = httpx.get(f"{service}/monitoring", timeout=30).json()["performance"]
    served = {row["window"]: row for row in performance}[str(ROLLING_WINDOW)]

    # The dashboard's data layer: the accuracy card of the same window.
    snapshot = load_snapshot(url)
    assert snapshot.message is None
    (page,) = [a for a in accuracy_summary(snapshot.predictions) if a.window == ROLLING_WINDOW]

    assert page.n == served["n"] == ROLLING_WINDOW  # the history has more resolved days
    assert page.accuracy == served["accuracy"]
    assert page.baseline_accuracy == served["baseline_accuracy"]
    assert f"accuracy {page.accuracy:.1%} vs always-up {page.baseline_accuracy:.1%}" in cli
    assert f"the last {page.n}" in cli
