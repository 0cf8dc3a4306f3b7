"""The model service as a real uvicorn process: its routes, and predictions over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from dagster import DagsterInstance, materialize

from fx_assets.core.contracts import FINAL, PREDICTIONS
from fx_assets.core.models import registry
from fx_assets.core.models.ranges import from_column
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.inference.assets import fx_predictions
from fx_assets.defs.inference.checks import fx_predictions_schema
from fx_assets.defs.resources import MlflowResource, ModelServiceResource, WarehouseResource
from fx_serving.schemas import EXAMPLE_ROW
from tests.support.champions import (
    CUTOFF,
    World,
    build_world,
    mlflow_db_template,  # noqa: F401  (fixture)
    use_home,
    uvicorn_process,
)
from tests.support.code_location import register_pairs

TOKEN = "process-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, mlflow_db_template: Path) -> Iterator[World]:  # noqa: F811
    home = tmp_path_factory.mktemp("process") / "fxhome"
    with use_home(home):
        yield build_world(home, mlflow_db_template, predictions=False)


@pytest.fixture(scope="module")
def service(world: World) -> Iterator[str]:
    with uvicorn_process(world.home, {"FX_API_TOKEN": TOKEN}) as url:
        yield url


def test_routes_of_the_real_process(service: str, world: World) -> None:
    with httpx.Client(base_url=service, headers=AUTH, timeout=10) as http:
        assert http.get("/health").json()["status"] == "ok"
        assert http.get("/ready").json()["model_version"] == world.version
        assert http.get("/model").json()["training_cutoff"] == CUTOFF.isoformat()
        scored = http.post("/predict", json={"rows": [EXAMPLE_ROW, EXAMPLE_ROW]})
        assert scored.status_code == 200
        assert len({p["probability_up"] for p in scored.json()["predictions"]}) == 1
        bad = http.post(
            "/predict",
            content=b'{"rows": [{"ret_1d": NaN}]}',
            headers={"Content-Type": "application/json"},
        )
        assert bad.status_code == 422
        assert http.get("/forecast/latest").status_code == 404  # nothing stored yet
    assert httpx.get(f"{service}/model").status_code == 401


def _materialize(url: str, service: ModelServiceResource, **kwargs: bool):  # type: ignore[no-untyped-def]
    instance = DagsterInstance.ephemeral()
    register_pairs(instance)
    return materialize(
        [fx_predictions, fx_predictions_schema],
        resources={
            "warehouse": WarehouseResource(url=url),
            "tracking_store": MlflowResource(tracking_uri=registry.tracking_uri()),
            "model_service": service,
        },
        instance=instance,
        partition_key="EURUSD",
        **kwargs,
    )


def test_predictions_are_the_same_in_process_and_over_http(
    service: str, world: World, tmp_path: Path
) -> None:
    remote_url = f"sqlite:///{tmp_path / 'remote.db'}"
    Warehouse(remote_url).for_pair("EURUSD").replace_all(FINAL, world.final)
    with use_home(world.home):
        assert _materialize(world.warehouse_url, ModelServiceResource()).success
        over_http = ModelServiceResource(url=service, token=TOKEN)
        assert _materialize(remote_url, over_http).success
    local = Warehouse(world.warehouse_url).read(PREDICTIONS)
    remote = Warehouse(remote_url).read(PREDICTIONS)

    assert len(local) == len(world.final[world.final["date"] > pd.Timestamp(CUTOFF)]) > 50
    same = ["feature_date", "target_date", "direction", "model_name", "model_version"]
    pd.testing.assert_frame_equal(local[same], remote[same])
    np.testing.assert_allclose(local["probability_up"], remote["probability_up"], atol=1e-12)


def test_over_http_a_wrong_token_fails_the_run_with_the_reason(
    service: str, world: World, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'denied.db'}"
    Warehouse(url).for_pair("EURUSD").replace_all(FINAL, world.final)
    with use_home(world.home):
        wrong = ModelServiceResource(url=service, token="not-the-token")
        result = _materialize(url, wrong, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = str(failure.step_failure_data.error.message)
    assert "401" in message and "bearer token" in message
    assert "not-the-token" not in message
    assert Warehouse(url).read(PREDICTIONS).empty


def test_a_row_the_model_never_saw_is_named_with_how_far(service: str, world: World) -> None:
    training = world.final[world.final["date"] <= pd.Timestamp(CUTOFF)]
    seen = {f: float(training[f].iloc[-1]) for f in EXAMPLE_ROW}  # a training row: in range
    largest = float(training["vol_20"].max())
    unseen = seen | {"vol_20": 5.8 * largest}
    with httpx.Client(base_url=service, headers=AUTH, timeout=10) as http:
        spans = http.get("/model").json()["feature_ranges"]
        assert spans["vol_20"] == [float(training["vol_20"].min()), largest]
        body = http.post("/predict", json={"rows": [seen, unseen]}).json()
        inside, outside = body["predictions"]
        assert inside["out_of_range"] == {}
        assert outside["out_of_range"] == {
            "vol_20": {"side": "above", "value": 5.8 * largest, "limit": largest, "factor": 5.8}
        }
        # The stored forecast carries what the predictions asset found for its row.
        with use_home(world.home):
            assert _materialize(world.warehouse_url, ModelServiceResource()).success
        latest = http.get("/forecast/latest").json()
    newest = Warehouse(world.warehouse_url).read(PREDICTIONS, newest=1).iloc[0]
    assert latest["out_of_range"] == from_column(newest["out_of_range"])
