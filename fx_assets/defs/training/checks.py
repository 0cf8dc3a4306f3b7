"""Blocking checks of the training assets: the split's contract and a usable champion,
each on the run's pair.

Not partitioned themselves (Dagster's partitioned checks are a preview): they run in the
pair's run, and ``context.partition_key`` is that run's pair; the result names it.
"""

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check

from fx_assets.core.contracts import FINAL, TEST, TRAIN, DataValidationError
from fx_assets.core.domain import TARGET
from fx_assets.core.models import lifecycle
from fx_assets.core.pairs import Pair
from fx_assets.core.training.splits import known_rows, validate_split
from fx_assets.defs.contracts import contract_check
from fx_assets.defs.resources import MlflowResource, TrainingResource, WarehouseResource

fx_train_schema = contract_check(
    TRAIN, "Training rows: unique sorted dates, finite features, a 0/1 target on every row."
)
fx_test_schema = contract_check(
    TEST, "Test rows: unique sorted dates, finite features, a 0/1 target on every row."
)


@asset_check(asset=TEST.name, blocking=True)
def train_test_disjoint_with_gap(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource, training: TrainingResource
) -> AssetCheckResult:
    """Train and test are disjoint, test is strictly later, and the gap rows lie between."""
    pair = context.partition_key
    wh = warehouse.get().for_pair(pair)
    train, test = wh.read(TRAIN), wh.read(TEST)
    known = known_rows(wh.read(FINAL, columns=["date", TARGET]))
    try:
        validate_split(train, test, known["date"], training.gap_days)
    except DataValidationError as exc:
        return AssetCheckResult(
            passed=False, severity=AssetCheckSeverity.ERROR, description=f"{pair}: {exc}"
        )
    return AssetCheckResult(passed=True, metadata={"pair": pair, "gap_days": training.gap_days})


@asset_check(asset="champion_model", blocking=True)
def champion_usable(
    context: AssetCheckExecutionContext,
    warehouse: WarehouseResource,
    tracking_store: MlflowResource,
) -> AssetCheckResult:
    """The champion exists, loads, scores, and its signature is the current feature list."""
    pair = context.partition_key
    test = warehouse.get().for_pair(pair).read(TEST, newest=5)
    problem, version = lifecycle.champion_problem(
        tracking_store.client(), test, name=Pair.parse(pair).model_name
    )
    metadata = {"pair": pair, "champion_version": version}
    if problem:
        return AssetCheckResult(
            passed=False, severity=AssetCheckSeverity.ERROR, description=problem, metadata=metadata
        )
    return AssetCheckResult(passed=True, metadata=metadata)
