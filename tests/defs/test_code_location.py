"""The code location as Dagster loads it: every domain's definitions, derived from contracts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    Definitions,
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
)

from fx_assets.core.contracts import CONTRACTS
from tests.support import ROOT
from tests.support.code_location import load

ASSETS = {
    "ingestion": {"fx_raw"},
    "features": {"fx_staging", "fx_final"},
    "training": {"fx_train", "fx_test", "model_candidates", "challenger_model", "champion_model"},
    "evaluation": {"fx_backtest", "fx_backtest_summary", "fx_backtest_yearly"},
    "inference": {"fx_predictions"},
    "book": {"fx_backtest_book"},
}
BLOCKING_CHECKS = {
    "fx_raw_schema",
    "fx_staging_schema",
    "fx_final_schema",
    "fx_train_schema",
    "fx_test_schema",
    "train_test_disjoint_with_gap",
    "champion_usable",
    "fx_predictions_schema",
}


@pytest.fixture(scope="module")
def defs() -> Definitions:
    return load()


def test_every_domain_folder_is_loaded_with_its_assets_checks_and_automation(
    defs: Definitions,
) -> None:
    Definitions.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    groups: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        groups.setdefault(graph.get(key).group_name, set()).add(key.to_user_string())
    for group, expected in ASSETS.items():
        assert expected <= groups.get(group, set()), group
    checks = {k.name for c in defs.asset_checks or [] for k in c.check_keys}
    assert checks >= BLOCKING_CHECKS
    assert {j.name for j in defs.jobs or []} >= {
        "etl_job",
        "features_job",
        "training_job",
        "predictions_job",
        "book_job",
    }
    assert {s.name for s in defs.schedules or []} >= {"etl_schedule", "training_schedule"}
    assert {s.name for s in defs.sensors or []} >= {
        "features_sensor",
        "predictions_sensor",
        "book_sensor",
        "bootstrap",
    }
    assert {"warehouse", "market_data", "training", "tracking_store", "mlflow"} <= set(
        defs.resources or {}
    )


def test_jobs_select_by_group(defs: Definitions) -> None:
    etl = defs.resolve_job_def("etl_job").asset_layer.executable_asset_keys
    assert {k.to_user_string() for k in etl} == ASSETS["ingestion"]
    features = defs.resolve_job_def("features_job").asset_layer.executable_asset_keys
    assert {k.to_user_string() for k in features} == ASSETS["features"]
    training = defs.resolve_job_def("training_job").asset_layer.executable_asset_keys
    assert {k.to_user_string() for k in training} >= ASSETS["training"] | ASSETS["evaluation"]


def test_every_pair_is_a_partition_and_raw_is_pair_by_year(defs: Definitions) -> None:
    """The book is one dynamic partition set: a pair's assets are that pair's partition;
    fx_raw is pair x year; the book's verdict is one asset over all pairs."""
    graph = defs.resolve_asset_graph()
    for group, keys in ASSETS.items():
        for key in keys:
            partitions = graph.get(AssetKey(key)).partitions_def
            if group == "ingestion":
                assert isinstance(partitions, MultiPartitionsDefinition), key
                assert {d.name for d in partitions.partitions_defs} == {"pair", "year"}
            elif group == "book":
                assert partitions is None, key
            else:
                assert isinstance(partitions, DynamicPartitionsDefinition), key
                assert partitions.name == "pair", key


def test_every_table_asset_shows_the_columns_of_its_contract(defs: Definitions) -> None:
    specs = {s.key: s for s in defs.resolve_all_asset_specs()}
    tables = [name for name in CONTRACTS if AssetKey(name) in specs]
    assert {"fx_raw", "fx_final", "fx_predictions", "fx_train", "fx_backtest_book"} <= set(tables)
    for name in tables:
        schema = specs[AssetKey(name)].metadata["dagster/column_schema"]
        assert [c.name for c in schema.columns] == CONTRACTS[name].column_names, name


def test_no_environment_is_read_at_import() -> None:
    # A bad setting must not break importing the code location, only loading it.
    code = "import fx_assets.definitions, fx_assets.defs.resources; print('imported')"
    env = {"PATH": "/usr/bin:/bin", "FX_TEST_DAYS": "not-a-number", "HOME": "/tmp"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert out.stdout.strip() == "imported", out.stderr[-500:]
    load_code = "from fx_assets.definitions import defs; defs()"
    failed = subprocess.run(
        [sys.executable, "-c", load_code], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert failed.returncode != 0 and "FX_TEST_DAYS" in failed.stderr


@pytest.mark.parametrize(
    "code",
    [
        "import fx_serving.app, fx_dash.app",
        "from fx_assets.cli.main import main; main(['info'])",
        "from fx_assets.cli.main import build_parser; build_parser().parse_args(['models'])",
    ],
)
def test_consumers_and_the_light_commands_import_no_dagster(code: str, tmp_path: Path) -> None:
    probe = (
        f"{code}\nimport sys; print(sorted(m for m in sys.modules if m.split('.')[0] == 'dagster'))"
    )
    env = {"PATH": "/usr/bin:/bin", "FX_HOME": str(tmp_path), "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr[-500:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
