"""The monitoring assets for real: SQLite and PostgreSQL, reruns, WARN checks and alerts,
one pair a partition."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from dagster import AssetCheckSeverity, DagsterInstance, materialize
from pytest_httpserver import HTTPServer

from fx_assets.core.contracts import ALERTS, DRIFT, FINAL, PERFORMANCE, STAGING
from fx_assets.core.domain import FEATURES
from fx_assets.core.features import build_features, build_final
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.models import registry
from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.inference.assets import fx_predictions
from fx_assets.defs.monitoring.assets import model_monitoring
from fx_assets.defs.resources import (
    AlertsResource,
    MlflowResource,
    ModelServiceResource,
    MonitoringResource,
    WarehouseResource,
)
from tests.support.champions import (
    CUTOFF,
    END,
    START,
    fill_warehouse,
    free_port,
    mlflow_db_template,  # noqa: F401  (fixture)
    register_champion,
    seed_home,
)
from tests.support.code_location import register_pairs

HOOK = "/hooks/monitoring-secret-path"


@pytest.fixture
def home(fx_home: Path, mlflow_db_template: Path) -> Path:  # noqa: F811
    seed_home(fx_home, mlflow_db_template)
    return fx_home


def run(  # type: ignore[no-untyped-def]
    url: str, hook: str | None = None, smtp_port: int | None = None, pair: str = DEFAULT_PAIR
):
    mail = {"email_to": "oncall@example.org", "smtp_host": "127.0.0.1", "smtp_port": smtp_port}
    instance = DagsterInstance.ephemeral()
    register_pairs(instance, (pair,))
    return materialize(
        [fx_predictions, model_monitoring],
        resources={
            "warehouse": WarehouseResource(url=url),
            "tracking_store": MlflowResource(tracking_uri=registry.tracking_uri()),
            "model_service": ModelServiceResource(),
            "monitoring": MonitoringResource(),
            "alerts": AlertsResource(webhook_url=hook, **(mail if smtp_port else {})),
        },
        instance=instance,
        partition_key=pair,
        raise_on_error=False,
    )


def _checks(result) -> dict[str, object]:  # type: ignore[no-untyped-def]
    return {c.check_name: c for c in result.get_asset_check_evaluations()}


def test_assets_fill_both_tables_and_reruns_replace(home: Path, warehouse_url: str) -> None:
    final = fill_warehouse(warehouse_url, START, END)
    version = register_champion(final, CUTOFF)
    first = run(warehouse_url)
    assert first.success
    wh = Warehouse(warehouse_url).for_pair(DEFAULT_PAIR)
    drift, perf = wh.read(DRIFT), wh.read(PERFORMANCE)
    assert sorted(drift["feature"]) == sorted(FEATURES)
    assert set(drift["model_version"]) == {version}
    assert set(drift["window_end"]) == {final["date"].max()}
    assert set(drift["reference_end"]) == {pd.Timestamp(CUTOFF)}
    assert set(perf["window"]) == {"20", "60", "250", "all"}
    resolved = int((final["date"] > pd.Timestamp(CUTOFF)).sum()) - 1  # newest: no outcome
    assert perf.loc[perf["window"] == "all", "n"].item() == resolved
    checks = _checks(first)
    assert set(checks) == {
        "feature_drift",
        "performance_decay",
        "prediction_drift",
        "out_of_range_inputs",
    }
    assert all(c.severity == AssetCheckSeverity.WARN for c in checks.values())
    assert "features" in checks["feature_drift"].metadata

    again = run(warehouse_url)
    assert again.success
    pd.testing.assert_frame_equal(wh.read(DRIFT), drift)
    pd.testing.assert_frame_equal(wh.read(PERFORMANCE), perf)


def _planted(url: str, pair: str = DEFAULT_PAIR, end: date = END) -> pd.DataFrame:
    """``pair``'s rows: ECB features whose newest 80 days are four times as volatile."""
    bars = EcbSource().fetch(START, end)
    returns = np.log(bars["close"]).diff().fillna(0.0).to_numpy()
    returns[-80:] *= 4
    bars["close"] = bars["close"].iloc[0] * np.exp(np.cumsum(returns))
    staging = build_features(bars)
    final = build_final(staging)
    wh = Warehouse(url).for_pair(pair)
    wh.replace_all(STAGING, staging)
    wh.replace_all(FINAL, final)
    return final


class Inbox:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(envelope.content.decode())
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (plain: the STARTTLS path is tested with the notifier)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_a_planted_regime_fires_feature_drift_and_alerts_once(
    home: Path, httpserver: HTTPServer, smtp: tuple[Inbox, int]
) -> None:
    url = f"sqlite:///{home / 'warehouse.db'}"
    final = _planted(url)
    # Trained on the calm rows only: the newest 60 are all inside the volatile stretch.
    register_champion(final, final["date"].iloc[-81].date())
    httpserver.expect_request(HOOK).respond_with_data("ok")
    hook = httpserver.url_for(HOOK)
    inbox, smtp_port = smtp
    first = run(url, hook, smtp_port)
    assert first.success  # WARN checks never fail the run
    drift_check = _checks(first)["feature_drift"]
    assert not drift_check.passed
    assert drift_check.description.startswith("EURUSD: drifted: ")
    assert "vol_5 (" in drift_check.description
    assert "vol_5" in drift_check.metadata["drifted"].value
    texts = [json.loads(req.get_data())["text"] for req, _ in httpserver.log]
    drift_alerts = [t for t in texts if "feature_drift" in t]
    # The alert names the pair and its model, and carries the check's verdict word for word.
    assert len(drift_alerts) == 1 and drift_check.description in drift_alerts[0]
    assert drift_alerts[0].startswith("[warning] EURUSD: feature_drift: champion eur_usd_direction")
    assert "monitoring-secret-path" not in " ".join(texts)

    assert run(url, hook, smtp_port).success  # same day, same condition: no second alert
    texts = [json.loads(req.get_data())["text"] for req, _ in httpserver.log]
    assert len([t for t in texts if "feature_drift" in t]) == 1
    mails = [m for m in inbox.messages if "Subject: EURUSD: feature_drift" in m]
    assert len(mails) == 1 and "vol_5 (" in mails[0]
    stored = Warehouse(url).read(ALERTS)
    assert "check:EURUSD:feature_drift" in set(stored["condition"])
    assert stored["delivered_at"].notna().all()


def test_each_pair_is_monitored_against_its_own_champion_and_alerts_on_its_own(
    home: Path, httpserver: HTTPServer
) -> None:
    url = f"sqlite:///{home / 'warehouse.db'}"
    # Both pairs drift (sources give EUR/USD only here: GBP/USD's rows are written
    # directly, a month shorter so that its windows are its own).
    eur = _planted(url)
    gbp = _planted(url, "GBPUSD", end=date(2024, 8, 30))
    register_champion(eur, eur["date"].iloc[-81].date())
    gbp_version = register_champion(gbp, gbp["date"].iloc[-81].date(), pair="GBPUSD")
    httpserver.expect_request(HOOK).respond_with_data("ok")
    hook = httpserver.url_for(HOOK)
    assert run(url, hook).success
    wh = Warehouse(url)
    before = {c.name: wh.read(c, pair=DEFAULT_PAIR) for c in (DRIFT, PERFORMANCE)}

    second = run(url, hook, pair="GBPUSD")
    assert second.success
    drift_check = _checks(second)["feature_drift"]
    assert not drift_check.passed and drift_check.description.startswith("GBPUSD: drifted: ")
    for contract in (DRIFT, PERFORMANCE):  # EUR/USD's rows as they were
        pd.testing.assert_frame_equal(wh.read(contract, pair=DEFAULT_PAIR), before[contract.name])
    theirs = wh.read(DRIFT, pair="GBPUSD")
    assert set(theirs["model_version"]) == {gbp_version}
    assert set(theirs["window_end"]) == {gbp["date"].max()}
    assert set(wh.pairs(DRIFT)) == set(wh.pairs(PERFORMANCE)) == {"EURUSD", "GBPUSD"}
    # One alert per pair: EUR/USD's drift the same day does not silence GBP/USD's.
    texts = [json.loads(req.get_data())["text"] for req, _ in httpserver.log]
    drift_alerts = sorted(t.split("\n")[0] for t in texts if "feature_drift" in t)
    assert drift_alerts == [
        "[warning] EURUSD: feature_drift: champion eur_usd_direction v1",
        f"[warning] GBPUSD: feature_drift: champion gbp_usd_direction v{gbp_version}",
    ]
    assert {"check:EURUSD:feature_drift", "check:GBPUSD:feature_drift"} <= set(
        wh.read(ALERTS)["condition"]
    )


def test_the_service_serves_the_newest_rows_behind_its_token(home: Path) -> None:
    from fastapi.testclient import TestClient

    from fx_serving.app import create_app

    url = f"sqlite:///{home / 'warehouse.db'}"
    empty = create_app()
    empty.state.warehouse = Warehouse(url)
    assert TestClient(empty).get("/monitoring").json() == {
        "pair": "EURUSD",
        "drift": [],
        "performance": [],
    }

    final = fill_warehouse(url, START, END)
    register_champion(final, CUTOFF)
    assert run(url).success
    app = create_app()
    app.state.warehouse = Warehouse(url)
    app.state.token = "monitoring-token"  # as the lifespan sets it from FX_API_TOKEN
    client = TestClient(app)
    assert client.get("/monitoring").status_code == 401
    body = client.get("/monitoring", headers={"Authorization": "Bearer monitoring-token"}).json()
    assert len(body["drift"]) == len(FEATURES)
    ks = [row["ks_stat"] for row in body["drift"]]
    assert ks == sorted(ks, reverse=True)
    # Every column of the table, each feature's own thresholds, rule and reason included.
    assert set(body["drift"][0]) == set(DRIFT.column_names)
    assert all(0 < row["ks_threshold"] < 1 for row in body["drift"])
    assert all(row["reason"].startswith(("drifted", "not drifted")) for row in body["drift"])
    assert {row["window"] for row in body["performance"]} == {"20", "60", "250", "all"}
    assert all(row["verdict"] and row["rule"] for row in body["performance"])
    assert body["drift"][0]["window_end"] == f"{final['date'].max():%Y-%m-%d}"
