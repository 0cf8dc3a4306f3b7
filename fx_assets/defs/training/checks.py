"""Blocking checks of the training assets: the split's contract and a usable champion."""

import pandas as pd
from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from fx_assets.core.features import FEATURES, TARGET
from fx_assets.core.models import registry
from fx_assets.core.schemas import TEST_SCHEMA, TRAIN_SCHEMA, DataValidationError
from fx_assets.core.training.modeling import probability_up, xy
from fx_assets.core.training.splits import known_rows, validate_split
from fx_assets.defs.ingestion.assets import _check_table
from fx_assets.defs.resources import MlflowResource, TrainingResource, WarehouseResource
from fx_assets.defs.training.assets import TEST_KEY, TRAIN_KEY, champion_model


@asset_check(asset=TRAIN_KEY, blocking=True)
def eur_usd_train_schema(warehouse: WarehouseResource) -> AssetCheckResult:
    """Training rows: unique sorted dates, finite features, a 0/1 target on every row."""
    return _check_table(warehouse, "eur_usd_train", TRAIN_SCHEMA)


@asset_check(asset=TEST_KEY, blocking=True)
def eur_usd_test_schema(warehouse: WarehouseResource) -> AssetCheckResult:
    """Test rows: unique sorted dates, finite features, a 0/1 target on every row."""
    return _check_table(warehouse, "eur_usd_test", TEST_SCHEMA)


@asset_check(asset=TEST_KEY, blocking=True)
def train_test_disjoint_with_gap(
    warehouse: WarehouseResource, training: TrainingResource
) -> AssetCheckResult:
    """Train and test are disjoint, test is strictly later, and the gap rows lie between."""
    wh = warehouse.get()
    train, test = wh.read("eur_usd_train"), wh.read("eur_usd_test")
    known = known_rows(wh.read("eur_usd_final", columns=["date", TARGET]))
    try:
        validate_split(train, test, known["date"], training.gap_days)
    except DataValidationError as exc:
        return AssetCheckResult(
            passed=False, severity=AssetCheckSeverity.ERROR, description=str(exc)
        )
    return AssetCheckResult(passed=True, metadata={"gap_days": training.gap_days})


def _champion_problem(client: object, test: pd.DataFrame) -> tuple[str | None, str]:
    """(what is wrong with the champion or None, its version)."""
    champion = registry.alias_version(client, registry.CHAMPION)
    if champion is None:
        return f"{registry.MODEL_NAME} has no '{registry.CHAMPION}' alias", ""
    where = f"champion v{champion.version}"
    signature = registry.model_features(champion.model_uri)
    if list(signature) != FEATURES:
        return f"{where}'s signature does not match the current feature list", champion.version
    if list(champion.features) != FEATURES:
        return f"{where}'s '{registry.TAG_FEATURES}' tag is not the feature list", champion.version
    try:
        probability_up(registry.load_model(champion.model_uri), xy(test)[0])
    except Exception as exc:
        return f"{where} does not load or score: {exc}", champion.version
    return None, champion.version


@asset_check(asset=champion_model, blocking=True)
def champion_usable(
    warehouse: WarehouseResource, tracking_store: MlflowResource
) -> AssetCheckResult:
    """The champion exists, loads, scores, and its signature is the current feature list."""
    test = warehouse.get().read("eur_usd_test", newest=5)
    problem, version = _champion_problem(tracking_store.client(), test)
    if problem:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=problem,
            metadata={"champion_version": version},
        )
    return AssetCheckResult(passed=True, metadata={"champion_version": version})


TRAINING_CHECKS = [
    eur_usd_train_schema,
    eur_usd_test_schema,
    train_test_disjoint_with_gap,
    champion_usable,
]
