"""The one model loader: a version that is not what training registered never loads.

A real MLflow store under FX_HOME; the champion is moved to a version whose ``MLmodel``
declares pickle (its payload writes a marker file when unpickled) or whose skops file
was changed after registration. The loader, the predictions asset and the backtest all
refuse it with one line naming the version, and the payload never runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance, materialize

from fx_assets.core.contracts import PREDICTIONS
from fx_assets.core.domain import TARGET
from fx_assets.core.models import lifecycle, registry
from fx_assets.core.models.loader import TAG_ARTIFACT_SHA256, ModelRefusedError, load_estimator
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.evaluation.assets import fx_backtest
from fx_assets.defs.inference.assets import fx_predictions
from fx_assets.defs.resources import (
    EvaluationResource,
    MlflowResource,
    ModelServiceResource,
    TrainingResource,
    WarehouseResource,
)
from tests.support.champions import (
    CUTOFF,
    World,
    build_world,
    mlflow_db_template,  # noqa: F401  (fixture)
    register_champion,
    use_home,
)
from tests.support.code_location import register_pairs
from tests.support.hostile_models import (
    register_pickle_champion,
    register_untrusted_champion,
    tamper,
)


@pytest.fixture
def world(tmp_path: Path, mlflow_db_template: Path) -> Iterator[World]:  # noqa: F811
    home = tmp_path / "fxhome"
    with use_home(home):
        yield build_world(home, mlflow_db_template, predictions=False)


def _step_error(result) -> str:  # type: ignore[no-untyped-def]
    failure = next(e for e in result.all_events if e.is_step_failure)
    return str(failure.step_failure_data.error.message)


def _refused_by_the_assets(world: World, version: str) -> None:
    """The predictions asset and the backtest fail with the loader's line; nothing written."""
    url = world.warehouse_url
    tracking = MlflowResource(tracking_uri=registry.tracking_uri())
    instance = DagsterInstance.ephemeral()
    register_pairs(instance)
    predictions = materialize(
        [fx_predictions],
        resources={
            "warehouse": WarehouseResource(url=url),
            "tracking_store": tracking,
            "model_service": ModelServiceResource(),
        },
        instance=instance,
        partition_key="EURUSD",
        raise_on_error=False,
    )
    assert not predictions.success
    assert f"version {version} refused" in _step_error(predictions)
    assert Warehouse(url).read(PREDICTIONS).empty
    backtest = materialize(
        [fx_backtest],
        resources={
            "warehouse": WarehouseResource(url=url),
            "training": TrainingResource(),
            "evaluation": EvaluationResource(),
            "tracking_store": tracking,
        },
        instance=instance,
        partition_key="EURUSD",
        raise_on_error=False,
    )
    assert not backtest.success
    assert f"version {version} refused" in _step_error(backtest)


def test_a_pickle_champion_is_refused_everywhere_and_its_payload_never_runs(
    world: World,
) -> None:
    marker = world.home / "pwned"
    with use_home(world.home):
        bad = register_pickle_champion(marker)
        client = registry.client()
        with pytest.raises(ModelRefusedError) as refused:
            load_estimator(client, bad)
        line = str(refused.value)
        assert line == (
            f"eur_usd_direction version {bad} refused: its artifact has no model.skops"
            " (only skops models load); retrain"
        )
        _refused_by_the_assets(world, bad)
        assert not marker.exists()
        # The payload is live: MLflow's own loader, which trusts the MLmodel, runs it.
        os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
        try:
            import mlflow.sklearn

            mlflow.sklearn.load_model(f"models:/eur_usd_direction/{bad}")
        finally:
            del os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"]
        assert marker.read_text() == "ran"


def test_a_skops_file_changed_after_registration_is_refused(world: World) -> None:
    with use_home(world.home):
        client = registry.client()
        assert load_estimator(client, world.version).predict_proba is not None
        tamper(world.version)
        with pytest.raises(ModelRefusedError, match=r"model\.skops does not match its"):
            load_estimator(client, world.version)
        _refused_by_the_assets(world, world.version)
        # The promotion scores through the same loader: the version cannot score.
        known = world.final[world.final[TARGET].notna()]
        scored = lifecycle.score(client, registry.get_version(client, world.version), known)
        assert scored.pr_auc is None
        assert scored.error == (
            f"eur_usd_direction version {world.version} refused: model.skops does not match"
            " its 'artifact_sha256' tag"
        )


def test_a_version_without_the_hash_tag_is_refused_with_what_to_do(world: World) -> None:
    with use_home(world.home):
        client = registry.client()
        version = register_champion(world.final, CUTOFF, c=0.01)
        client.delete_model_version_tag(registry.MODEL_NAME, version, TAG_ARTIFACT_SHA256)
        with pytest.raises(ModelRefusedError, match="retrain with `fx run`") as refused:
            load_estimator(client, version)
    assert f"version {version} refused: no 'artifact_sha256' tag" in str(refused.value)


def test_types_the_version_declares_trusted_are_not_trusted(world: World) -> None:
    with use_home(world.home):
        client = registry.client()
        version = register_untrusted_champion()
        with pytest.raises(ModelRefusedError) as refused:
            load_estimator(client, version)
    assert str(refused.value) == (
        f"eur_usd_direction version {version} refused: untrusted type(s) posix.system"
    )
