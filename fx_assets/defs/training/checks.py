"""Blocking checks of the training assets: the split's contract and a usable champion."""

from dagster import AssetCheckResult, AssetCheckSeverity, asset_check

from fx_assets.core.contracts import FINAL, TEST, TRAIN, DataValidationError
from fx_assets.core.domain import TARGET
from fx_assets.core.models import lifecycle
from fx_assets.core.training.splits import known_rows, validate_split
from fx_assets.defs.contracts import contract_check
from fx_assets.defs.resources import MlflowResource, TrainingResource, WarehouseResource

eur_usd_train_schema = contract_check(
    TRAIN, "Training rows: unique sorted dates, finite features, a 0/1 target on every row."
)
eur_usd_test_schema = contract_check(
    TEST, "Test rows: unique sorted dates, finite features, a 0/1 target on every row."
)


@asset_check(asset=TEST.name, blocking=True)
def train_test_disjoint_with_gap(
    warehouse: WarehouseResource, training: TrainingResource
) -> AssetCheckResult:
    """Train and test are disjoint, test is strictly later, and the gap rows lie between."""
    wh = warehouse.get()
    train, test = wh.read(TRAIN), wh.read(TEST)
    known = known_rows(wh.read(FINAL, columns=["date", TARGET]))
    try:
        validate_split(train, test, known["date"], training.gap_days)
    except DataValidationError as exc:
        return AssetCheckResult(
            passed=False, severity=AssetCheckSeverity.ERROR, description=str(exc)
        )
    return AssetCheckResult(passed=True, metadata={"gap_days": training.gap_days})


@asset_check(asset="champion_model", blocking=True)
def champion_usable(
    warehouse: WarehouseResource, tracking_store: MlflowResource
) -> AssetCheckResult:
    """The champion exists, loads, scores, and its signature is the current feature list."""
    test = warehouse.get().read(TEST, newest=5)
    problem, version = lifecycle.champion_problem(tracking_store.client(), test)
    if problem:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=problem,
            metadata={"champion_version": version},
        )
    return AssetCheckResult(passed=True, metadata={"champion_version": version})
