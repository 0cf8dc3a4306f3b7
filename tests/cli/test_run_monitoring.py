"""``fx run`` and monitoring: a failed step reaches a real webhook once; the monitoring lines."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from fx_assets.cli.run import run_predictions
from fx_assets.core.contracts import DRIFT, PERFORMANCE
from fx_assets.core.domain import FEATURES
from fx_assets.core.warehouse import Warehouse
from tests.support.champions import (
    CUTOFF,
    END,
    START,
    fill_warehouse,
    mlflow_db_template,  # noqa: F401  (fixture)
    register_champion,
    seed_home,
)

HOOK = "/services/T0/B0/fx-run-hook-token"


@pytest.fixture
def home(fx_home: Path, mlflow_db_template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:  # noqa: F811
    seed_home(fx_home, mlflow_db_template)
    for var in ("FX_ALERT_WEBHOOK_URL", "FX_ALERT_EMAIL_TO", "FX_SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    return fx_home


def _reload_definitions() -> None:
    import fx_assets.definitions

    importlib.reload(fx_assets.definitions)


def test_a_failed_step_reaches_the_webhook_once(
    home: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    httpserver.expect_request(HOOK, method="POST").respond_with_data("ok")
    monkeypatch.setenv("FX_ALERT_WEBHOOK_URL", httpserver.url_for(HOOK))
    _reload_definitions()
    fill_warehouse(f"sqlite:///{home / 'warehouse.db'}", START, END)
    for _ in range(2):  # no champion yet: the predictions step fails, twice
        _rows, failures = run_predictions(lambda _line: None)
        assert "no champion model" in failures["EURUSD"]
    (request,) = [req for req, _ in httpserver.log]
    text = json.loads(request.get_data())["text"]
    assert text.startswith("[failure] EURUSD: predictions_job failed")
    assert "step fx_predictions: EURUSD: no champion model" in text
    assert "run id " in text
    assert "fx-run-hook-token" not in text


def test_fx_run_predictions_prints_what_monitoring_found(home: Path) -> None:
    _reload_definitions()
    url = f"sqlite:///{home / 'warehouse.db'}"
    final = fill_warehouse(url, START, END)
    register_champion(final, CUTOFF)
    lines: list[str] = []
    run_predictions(lines.append)
    monitoring = [line for line in lines if line.startswith("  EURUSD  monitoring: ")]
    assert len(monitoring) == 2, lines
    wh = Warehouse(url)
    assert wh.count(DRIFT) == len(FEATURES) and wh.count(PERFORMANCE) == 4
    # The lines are the stored verdicts: what the table says, the check says, fx run says.
    assert monitoring[0].split("monitoring: ")[1].startswith(("drifted: ", "not drifted: "))
    perf = wh.read(PERFORMANCE)
    sixty = perf[perf["window"] == "60"].iloc[0]
    if sixty["n"] >= 20:
        assert monitoring[1].endswith(sixty["verdict"])
        assert ("p=" in sixty["verdict"]) and ("always-up" in sixty["verdict"])
    else:
        assert "too few to judge" in monitoring[1]
