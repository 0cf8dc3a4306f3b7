"""The model service through HTTP (Starlette's TestClient): routes, bad input, auth."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from fx_assets.core.contracts import PREDICTIONS
from fx_assets.core.domain import FEATURES
from fx_assets.core.models.champion import load_champion
from fx_assets.core.models.inference import MAX_BATCH
from fx_assets.core.warehouse import Warehouse
from fx_serving.app import create_app
from fx_serving.schemas import EXAMPLE_ROW
from tests.support.champions import (
    CUTOFF,
    World,
    anonymous,
    build_world,
    mlflow_db_template,  # noqa: F401  (fixture)
    seed_home,
    use_home,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, mlflow_db_template: Path) -> Iterator[World]:  # noqa: F811
    home = tmp_path_factory.mktemp("service") / "fxhome"
    with use_home(home):
        yield build_world(home, mlflow_db_template)


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[TestClient]:
    with use_home(world.home) as mp:
        mp.setenv("FX_API_ANONYMOUS", "true")  # the routes; the token has its own test
        with TestClient(create_app()) as c:
            yield c


TOKEN = "service-test-token-of-forty-characters!"


def row_of(world: World, i: int = -1) -> dict[str, float]:
    return {f: float(world.final[f].iloc[i]) for f in FEATURES}


def test_health_and_ready(client: TestClient, world: World) -> None:
    assert client.get("/health").json() == {"status": "ok", "model_version": None}
    assert client.get("/ready").json() == {"status": "ready", "model_version": world.version}


def test_model_card(client: TestClient, world: World) -> None:
    card = client.get("/model").json()
    assert card["name"] == "eur_usd_direction"
    assert card["version"] == world.version
    assert card["features"] == FEATURES
    assert card["training_cutoff"] == CUTOFF.isoformat()
    assert card["test_pr_auc"] == pytest.approx(0.52)
    assert card["baseline_pr_auc"] == pytest.approx(0.5)
    assert len(card["run_id"]) == 32
    assert card["loaded_at"].endswith("Z") or "+00:00" in card["loaded_at"]


def test_predict_scores_like_the_champion(client: TestClient, world: World) -> None:
    rows = [row_of(world, i) for i in range(-40, 0)]
    response = client.post("/predict", json={"rows": rows})
    assert response.status_code == 200
    body = response.json()
    assert body["model_name"] == "eur_usd_direction"
    assert body["model_version"] == world.version
    champion = load_champion()
    expected = champion.estimator.predict_proba(world.final[FEATURES].iloc[-40:])[:, 1]
    got = np.array([p["probability_up"] for p in body["predictions"]])
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert [p["direction"] for p in body["predictions"]] == [int(p >= 0.5) for p in got]


def test_a_full_batch_is_accepted(client: TestClient, world: World) -> None:
    response = client.post("/predict", json={"rows": [row_of(world)] * MAX_BATCH})
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == MAX_BATCH


def test_integer_values_are_numbers_too(client: TestClient) -> None:
    row = {**EXAMPLE_ROW, "day_of_week": 4}
    assert client.post("/predict", json={"rows": [row]}).status_code == 200


def _with(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict(EXAMPLE_ROW)
    for key, value in changes.items():
        if value is _DROP:
            row.pop(key)
        else:
            row[key] = value
    return row


_DROP = object()


def _raw(row: dict[str, Any], token: str, key: str) -> bytes:
    """JSON with a bare token (NaN, Infinity) that json.dumps would not write for us."""
    text = json.dumps({"rows": [{**row, key: "@@"}]})
    return text.replace('"@@"', token).encode()


BAD_BODIES: dict[str, tuple[bytes, str]] = {
    "malformed JSON": (b'{"rows": [{"ret_1d": 0.1,', "body"),
    "not JSON at all": (b"rows=1", "body"),
    "missing feature": (json.dumps({"rows": [_with(rsi_14=_DROP)]}).encode(), "rsi_14"),
    "extra feature": (json.dumps({"rows": [_with(close=1.08)]}).encode(), "close"),
    "string value": (json.dumps({"rows": [_with(vol_5="0.01")]}).encode(), "vol_5"),
    "boolean value": (json.dumps({"rows": [_with(macd=True)]}).encode(), "macd"),
    "null value": (json.dumps({"rows": [_with(ret_5d=None)]}).encode(), "ret_5d"),
    "nested value": (json.dumps({"rows": [_with(ret_1d=[0.1])]}).encode(), "ret_1d"),
    "NaN": (_raw(EXAMPLE_ROW, "NaN", "ret_lag_2"), "ret_lag_2"),
    "Infinity": (_raw(EXAMPLE_ROW, "Infinity", "vol_60"), "vol_60"),
    "-Infinity": (_raw(EXAMPLE_ROW, "-Infinity", "macd_hist"), "macd_hist"),
    "overflowing number": (_raw(EXAMPLE_ROW, "1e999", "ma_ratio_5"), "ma_ratio_5"),
    "absurd magnitude": (json.dumps({"rows": [_with(ret_20d=-1e300)]}).encode(), "ret_20d"),
    "empty batch": (json.dumps({"rows": []}).encode(), "rows"),
    "oversized batch": (json.dumps({"rows": [EXAMPLE_ROW] * (MAX_BATCH + 1)}).encode(), "rows"),
    "rows not a list": (json.dumps({"rows": EXAMPLE_ROW}).encode(), "rows"),
    "row not an object": (json.dumps({"rows": [1.0]}).encode(), "rows"),
    "no rows key": (json.dumps(EXAMPLE_ROW).encode(), "rows"),
    "top-level array": (json.dumps([EXAMPLE_ROW]).encode(), "body"),
}


@pytest.mark.parametrize("case", BAD_BODIES, ids=list(BAD_BODIES))
def test_bad_input_is_a_422_naming_the_field(client: TestClient, case: str) -> None:
    body, field = BAD_BODIES[case]
    response = client.post("/predict", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail and all({"loc", "msg", "type"} <= set(d) for d in detail)
    assert any(field in [str(p) for p in d["loc"]] for d in detail), detail


def test_forecast_latest_is_the_newest_stored_prediction(client: TestClient, world: World) -> None:
    body = client.get("/forecast/latest").json()
    newest = Warehouse(world.warehouse_url).read(PREDICTIONS, newest=1).iloc[0]
    assert body["feature_date"] == "2024-09-30"
    assert body["target_date"] == "2024-10-01"
    assert body["probability_up"] == pytest.approx(float(newest["probability_up"]))
    assert body["direction"] == int(newest["direction"])
    assert body["model_version"] == world.version


def test_predictions_join_the_actual_outcome(client: TestClient, world: World) -> None:
    body = client.get("/predictions", params={"start": "2024-09-02", "end": "2024-09-30"}).json()
    assert [r["feature_date"] for r in body][:2] == ["2024-09-02", "2024-09-03"]
    assert body[-1]["feature_date"] == "2024-09-30"
    target = world.final.set_index(world.final["date"].dt.strftime("%Y-%m-%d"))["target"]
    for r in body[:-1]:
        assert r["actual"] == int(target[r["feature_date"]])
        assert r["correct"] == (r["direction"] == r["actual"])
    # The newest row's outcome is not known yet.
    assert body[-1]["actual"] is None and body[-1]["correct"] is None
    every = client.get("/predictions").json()
    assert len(every) == len(world.final[world.final["date"] > pd.Timestamp(CUTOFF)])
    assert client.get("/predictions", params={"start": "2030-01-01"}).json() == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2024-09-30", "end": "2024-09-01"}, "start"),
        ({"start": "2024-13-01"}, "start"),
        ({"end": "yesterday"}, "end"),
        ({"start": "0"}, "start"),  # not a Unix timestamp
        ({"end": "1719792000"}, "end"),
    ],
)
def test_bad_date_range_is_a_422_naming_the_field(
    client: TestClient, params: dict[str, str], field: str
) -> None:
    response = client.get("/predictions", params=params)
    assert response.status_code == 422
    assert any(d["loc"] == ["query", field] for d in response.json()["detail"])


def test_openapi_documents_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert set(spec["paths"]) >= {
        "/health",
        "/ready",
        "/model",
        "/predict",
        "/forecast/latest",
        "/predictions",
    }
    row = spec["components"]["schemas"]["FeatureRow"]
    assert list(row["properties"]) == FEATURES
    assert row["examples"] == [EXAMPLE_ROW]
    assert set(EXAMPLE_ROW) == set(FEATURES)
    assert client.get("/docs").status_code == 200


@pytest.fixture
def empty_home(fx_home: Path, mlflow_db_template: Path) -> Path:  # noqa: F811
    seed_home(fx_home, mlflow_db_template)
    return fx_home


def test_without_a_champion_the_model_routes_say_so(
    empty_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FX_API_ANONYMOUS", "true")
    with TestClient(create_app()) as c:
        assert c.get("/health").status_code == 200
        for response in (
            c.get("/ready"),
            c.get("/model"),
            c.post("/predict", json={"rows": [EXAMPLE_ROW]}),
        ):
            assert response.status_code == 503
            assert "no champion model" in response.json()["detail"]
        # The service never creates tables: before the pipeline ran, the reads say so.
        for response in (c.get("/forecast/latest"), c.get("/predictions")):
            assert response.status_code == 503
            assert "fx migrate" in response.json()["detail"]
        Warehouse(f"sqlite:///{empty_home / 'warehouse.db'}")
        assert c.get("/forecast/latest").status_code == 404
        assert c.get("/predictions").json() == []


def test_a_token_guards_every_route_but_health(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FX_API_TOKEN", TOKEN)
    with TestClient(create_app()) as c:
        assert c.get("/health").status_code == 200
        guarded = [
            ("GET", "/ready", None),
            ("GET", "/model", None),
            ("POST", "/predict", {"rows": [EXAMPLE_ROW]}),
            ("GET", "/forecast/latest", None),
            ("GET", "/predictions", None),
        ]
        for method, path, body in guarded:
            for headers in (
                {},
                {"Authorization": "Bearer wrong"},
                {"Authorization": TOKEN},
            ):
                denied = c.request(method, path, json=body, headers=headers)
                assert denied.status_code == 401, (path, headers)
                assert denied.headers["www-authenticate"] == "Bearer"
                assert TOKEN not in denied.text
            ok = c.request(method, path, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
            assert ok.status_code == 200, (path, ok.text)


def test_fx_api_rejects_a_bad_reload_interval_in_one_line(
    fx_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fx_assets.cli.main import build_parser, main

    args = build_parser().parse_args(["api"])
    assert (args.host, args.port, args.access_log) == ("127.0.0.1", 8000, False)
    monkeypatch.setenv("FX_CHAMPION_RELOAD_SECONDS", "soon")
    assert main(["api", "--port", "8123"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "fx api: error: FX_CHAMPION_RELOAD_SECONDS='soon': "
        "input should be a valid number, unable to parse string as a number"
    )


def test_the_service_does_not_import_dagster() -> None:
    import subprocess
    import sys

    code = (
        "import sys, fx_serving.app; print(any(m.split('.')[0] == 'dagster' for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_stored_prediction_model_is_the_table_contract() -> None:
    from fx_assets.core.contracts import PREDICTIONS
    from fx_serving.schemas import StoredPrediction

    assert list(StoredPrediction.model_fields) == PREDICTIONS.column_names


def test_backtest_returns_the_summary_and_the_verdict(client: TestClient, world: World) -> None:
    from fx_assets.core.contracts import BACKTEST_SUMMARY
    from tests.support.frames import backtest_summary_frame

    wh = Warehouse(world.warehouse_url)
    if not wh.has(BACKTEST_SUMMARY):
        missing = client.get("/backtest")
        assert missing.status_code == 404 and "no backtest yet" in missing.json()["detail"]
    wh.replace_tables({BACKTEST_SUMMARY: backtest_summary_frame()})
    response = client.get("/backtest")
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "not distinguishable from always-up, p = 0.41"
    assert body["verdicts"]["persistence"] == "better than persistence, p = 0.03"
    by = {r["strategy"]: r for r in body["strategies"]}
    assert set(by) == {"model", "always_up", "persistence", "momentum"}
    assert by["model"]["accuracy_ci_low"] == pytest.approx(0.499)
    assert by["model"]["p_value"] is None and by["model"]["sharpe"] is None
    assert "not investment advice" in body["trading_note"]


def test_model_card_carries_the_decision_interval(world: World) -> None:
    from fx_assets.core.models import registry

    registry.set_decision_interval(
        registry.client(),
        world.version,
        policy="significant",
        lift=0.03,
        low=0.01,
        high=0.05,
        p_value=0.004,
    )
    with anonymous(world.home), TestClient(create_app()) as fresh:
        card = fresh.get("/model").json()
    assert card["decision_policy"] == "significant"
    assert (card["decision_lift"], card["decision_lift_ci_low"], card["decision_lift_ci_high"]) == (
        pytest.approx(0.03),
        pytest.approx(0.01),
        pytest.approx(0.05),
    )


@pytest.mark.parametrize(
    "today, stale",
    [
        (date(2024, 10, 1), False),  # the forecast is for today: current
        (date(2024, 10, 3), True),  # its target day is past, though data is 2 days behind
        (date(2024, 10, 9), True),  # data 6 trading days behind
    ],
)
def test_forecasts_say_how_current_their_data_is(world: World, today: date, stale: bool) -> None:
    from fx_assets.core.contracts import RAW
    from fx_assets.core.ingestion.sources import EcbSource

    bars = EcbSource().fetch(date(2024, 9, 2), date(2024, 9, 30))
    stamped = bars.assign(source="ecb", ingested_at=pd.Timestamp.now(tz="UTC"))
    Warehouse(world.warehouse_url).for_pair("EURUSD").replace_all(RAW, stamped)
    with anonymous(world.home), TestClient(create_app(today=lambda: today)) as c:
        latest = c.get("/forecast/latest").json()
        history = c.get("/predictions", params={"start": "2024-09-26"}).json()

    assert latest["target_date"] == "2024-10-01"
    assert latest["data_as_of"] == "2024-09-30" and latest["stale"] is stale
    assert [r["data_as_of"] for r in history] == ["2024-09-30"] * len(history)
    # Older forecasts' target days are past: stale, whatever today is.
    assert [r["stale"] for r in history[:-1]] == [True] * (len(history) - 1)
    assert history[-1]["stale"] is stale


def test_without_bars_a_forecast_is_stale_and_has_no_data_date(world: World) -> None:
    from fx_assets.core.contracts import RAW

    eur = Warehouse(world.warehouse_url).for_pair("EURUSD")
    eur.replace_all(RAW, eur.read(RAW)[:0])
    with anonymous(world.home), TestClient(create_app(today=lambda: date(2024, 10, 1))) as c:
        latest = c.get("/forecast/latest").json()

    assert latest["data_as_of"] is None and latest["stale"] is True
