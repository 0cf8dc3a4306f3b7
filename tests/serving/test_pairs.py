"""The service over a book of pairs: /pairs, routing by pair, the 404 naming the book,
/predict with a pair, each pair's champion reloading on its own, the pair as a metrics label.

The book is EUR/USD (the seed's world), GBP/USD (its tables written directly, its own
champion under gbp_usd_direction, a shorter history so its rows are told apart) and
USD/JPY (nothing yet: no champion, no rows).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from fx_assets.core.contracts import BACKTEST_SUMMARY
from fx_assets.core.domain import FEATURES
from fx_assets.core.models.champion import load_champion
from fx_assets.core.warehouse import Warehouse
from fx_serving.app import create_app
from tests.support.champions import (
    CUTOFF,
    World,
    add_pair,
    build_world,
    mlflow_db_template,  # noqa: F401  (fixture)
    register_champion,
    use_home,
)
from tests.support.frames import backtest_summary_frame

BOOK = "EURUSD,GBPUSD,USDJPY"
GBP_END = date(2024, 9, 20)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, mlflow_db_template: Path) -> Iterator[World]:  # noqa: F811
    home = tmp_path_factory.mktemp("book") / "fxhome"
    with use_home(home) as env:
        world = build_world(home, mlflow_db_template)
        add_pair(world, "GBPUSD", end=GBP_END, c=0.01)
        Warehouse(world.warehouse_url).for_pair("GBPUSD").replace_all(
            BACKTEST_SUMMARY, backtest_summary_frame(always_up_p=0.004, pair="GBPUSD")
        )
        env.setenv("FX_PAIRS", BOOK)
        env.setenv("FX_API_ANONYMOUS", "true")
        yield world


@pytest.fixture(scope="module")
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(today=lambda: date(2024, 10, 1))) as c:
        yield c


def rows_of(world: World, n: int = 5) -> list[dict[str, float]]:
    return [{f: float(world.final[f].iloc[i]) for f in FEATURES} for i in range(-n, 0)]


def test_pairs_lists_the_book_with_each_champion_freshness_and_verdict(
    client: TestClient, world: World
) -> None:
    body = client.get("/pairs").json()
    assert [p["pair"] for p in body["pairs"]] == ["EURUSD", "GBPUSD", "USDJPY"]
    eur, gbp, jpy = body["pairs"]
    assert eur["champion"]["version"] == world.version and eur["champion"]["served"]
    assert gbp["model_name"] == "gbp_usd_direction" and gbp["label"] == "GBP/USD"
    assert gbp["champion"]["served"] and gbp["problem"] is None
    assert gbp["champion"]["age_days"] is not None and gbp["champion"]["age_days"] <= 0
    assert gbp["forecast"]["feature_date"] == GBP_END.isoformat()
    assert eur["forecast"]["feature_date"] == "2024-09-30"
    assert gbp["skill"]["verdict"] == "better than always-up, p = 0.004 (unadjusted)"
    assert gbp["skill"]["skilful"] is True and gbp["skill"]["adjusted"] is False
    assert eur["skill"] is None  # no EUR/USD backtest in this world
    # No bars written: every pair says it has no data, rather than borrowing another's.
    assert all(p["data_as_of"] is None and p["stale"] for p in body["pairs"])
    assert jpy["champion"] is None and jpy["forecast"] is None and jpy["skill"] is None
    assert jpy["problem"].startswith("no champion model: usd_jpy_direction@champion")
    assert body["headline"].startswith("1 of 1 pairs at p < 0.05 against always-up")


def test_every_route_takes_the_pair_and_defaults_to_eurusd(
    client: TestClient, world: World
) -> None:
    assert client.get("/forecast/latest").json()["feature_date"] == "2024-09-30"
    latest = client.get("/forecast/latest", params={"pair": "GBPUSD"}).json()
    assert latest["pair"] == "GBPUSD" and latest["feature_date"] == GBP_END.isoformat()
    assert latest["model_name"] == "gbp_usd_direction"
    gbp = client.get("/predictions", params={"pair": "gbp/usd"}).json()
    eur = client.get("/predictions").json()
    assert {r["pair"] for r in gbp} == {"GBPUSD"} and {r["pair"] for r in eur} == {"EURUSD"}
    assert len(eur) - len(gbp) == 6  # the trading days 2024-09-23..30
    card = client.get("/model", params={"pair": "GBPUSD"}).json()
    assert card["pair"] == "GBPUSD" and card["name"] == "gbp_usd_direction"
    assert client.get("/model").json()["name"] == "eur_usd_direction"
    assert client.get("/monitoring", params={"pair": "GBPUSD"}).json()["pair"] == "GBPUSD"
    backtest = client.get("/backtest", params={"pair": "GBPUSD"}).json()
    assert backtest["pair"] == "GBPUSD" and backtest["verdict"].startswith("better than")
    missing = client.get("/backtest")
    assert missing.status_code == 404 and "no EURUSD backtest yet" in missing.json()["detail"]
    # A pair of the book with nothing yet: empty, or a 503 that names its model.
    assert client.get("/predictions", params={"pair": "USDJPY"}).json() == []
    ready = client.get("/ready", params={"pair": "USDJPY"})
    assert ready.status_code == 503 and "usd_jpy_direction" in ready.json()["detail"]


@pytest.mark.parametrize("pair", ["NZDUSD", "XYZ", "gbp", "EURUSD" * 10])
def test_an_unknown_pair_is_a_404_naming_the_book(client: TestClient, pair: str) -> None:
    expected = "this service serves EURUSD, GBPUSD, USDJPY (FX_PAIRS)"
    for response in (
        client.get("/forecast/latest", params={"pair": pair}),
        client.get("/model", params={"pair": pair}),
        client.get("/monitoring", params={"pair": pair}),
    ):
        assert response.status_code == 404, response.text
        detail = response.json()["detail"]
        assert detail.startswith("unknown pair ") and detail.endswith(expected)
        assert len(detail) < 120  # a long string from the request is not echoed whole
    if len(pair) <= 16:  # a longer body field is a 422 naming it
        scored = client.post("/predict", json={"pair": pair, "rows": [{}]})
        assert scored.status_code in (404, 422)


def test_predict_scores_with_the_pairs_champion(client: TestClient, world: World) -> None:
    rows = rows_of(world)
    x = np.array([[r[f] for f in FEATURES] for r in rows])
    gbp_champion = load_champion(name="gbp_usd_direction")
    body = client.post("/predict", json={"pair": "GBPUSD", "rows": rows}).json()
    assert body["pair"] == "GBPUSD" and body["model_name"] == "gbp_usd_direction"
    got = np.array([p["probability_up"] for p in body["predictions"]])
    np.testing.assert_allclose(got, gbp_champion.probability_up(x), rtol=0, atol=1e-12)
    default = client.post("/predict", json={"rows": rows}).json()
    assert default["pair"] == "EURUSD" and default["model_version"] == world.version
    assert not np.allclose([p["probability_up"] for p in default["predictions"]], got)
    unknown = client.post("/predict", json={"pair": "NZDUSD", "rows": rows})
    assert unknown.status_code == 404 and "EURUSD, GBPUSD, USDJPY" in unknown.json()["detail"]
    none_yet = client.post("/predict", json={"pair": "USDJPY", "rows": rows})
    assert none_yet.status_code == 503 and "usd_jpy_direction" in none_yet.json()["detail"]


def _samples(client: TestClient, name: str) -> list[dict[str, str]]:
    text = client.get("/metrics").text
    return [
        {**s.labels, "value": str(s.value)}
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    ]


def test_metrics_carry_the_pair_of_the_book_only(client: TestClient, world: World) -> None:
    client.get("/forecast/latest", params={"pair": "GBPUSD"})
    client.get("/forecast/latest", params={"pair": "not-a-pair-at-all"})
    client.post("/predict", json={"pair": "GBPUSD", "rows": rows_of(world, 3)})
    requests = _samples(client, "fx_http_requests_total")
    pairs = {s["pair"] for s in requests}
    assert pairs <= {"", "EURUSD", "GBPUSD", "USDJPY"}, pairs
    assert any(s["route"] == "/forecast/latest" and s["pair"] == "GBPUSD" for s in requests)
    unknown = [s for s in requests if s["route"] == "/forecast/latest" and s["status"] == "404"]
    assert unknown and {s["pair"] for s in unknown} == {""}
    scored = _samples(client, "fx_predictions_total")
    assert {s["pair"] for s in scored} <= {"EURUSD", "GBPUSD"}
    assert sum(float(s["value"]) for s in scored if s["pair"] == "GBPUSD") >= 3
    versions = _samples(client, "fx_champion_version_info")
    assert {(s["pair"], s["model_name"]) for s in versions if s["value"] == "1.0"} >= {
        ("EURUSD", "eur_usd_direction"),
        ("GBPUSD", "gbp_usd_direction"),
    }
    checks = _samples(client, "fx_warehouse_up")
    assert checks == [{"value": "1.0"}]


def test_each_pairs_champion_reloads_on_its_own(world: World) -> None:
    with TestClient(create_app(reload_seconds=0.5)) as c:
        before = {p: c.get("/model", params={"pair": p}).json() for p in ("EURUSD", "GBPUSD")}
        new = register_champion(world.final, CUTOFF, c=0.5, name="gbp_usd_direction")
        deadline = time.monotonic() + 30
        while c.get("/model", params={"pair": "GBPUSD"}).json()["version"] != new:
            assert time.monotonic() < deadline, "the GBP/USD champion was not reloaded"
            time.sleep(0.2)
        after = {p: c.get("/model", params={"pair": p}).json() for p in ("EURUSD", "GBPUSD")}
    assert before["GBPUSD"]["version"] != new
    assert after["GBPUSD"]["loaded_at"] > before["GBPUSD"]["loaded_at"]
    # EUR/USD was not touched: the same version, loaded once, at start.
    assert after["EURUSD"] == before["EURUSD"]
