"""Blocking checks of the training assets: the split's contract and a usable champion,
each on the run's pair.

Not partitioned themselves (Dagster's partitioned checks are a preview): they run in the
pair's run, and ``context.partition_key`` is that run's pair; the result names it.

The split's three checks are one step (each step costs its run a worker's task on Celery
and a few events in the instance, whatever it checks), run after ``fx_split`` wrote both
tables; each is still its own blocking check in the UI.
"""

from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    asset_check,
    multi_asset_check,
)

from fx_assets.core.contracts import FINAL, TEST, TRAIN, DataValidationError
from fx_assets.core.domain import TARGET
from fx_assets.core.models import lifecycle
from fx_assets.core.pairs import Pair
from fx_assets.core.training.splits import known_rows, validate_split
from fx_assets.defs.contracts import check_stored, schema_spec
from fx_assets.defs.resources import MlflowResource, TrainingResource, WarehouseResource

DISJOINT = "train_test_disjoint_with_gap"


@multi_asset_check(
    specs=[
        schema_spec(
            TRAIN, "Training rows: unique sorted dates, finite features, a 0/1 target on every row."
        ),
        schema_spec(
            TEST, "Test rows: unique sorted dates, finite features, a 0/1 target on every row."
        ),
        AssetCheckSpec(
            DISJOINT,
            asset=TEST.name,
            blocking=True,
            description=(
                "Train and test are disjoint, test is strictly later, and the gap rows lie between."
            ),
        ),
    ],
)
def fx_split_checks(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource, training: TrainingResource
) -> Iterator[AssetCheckResult]:
    """The two tables' contracts on the run's pair, then the split's own rule."""
    pair = context.partition_key  # the pair's run (pair-partitioned assets)
    yield check_stored(warehouse, TRAIN, pair, named=True)
    yield check_stored(warehouse, TEST, pair, named=True)
    yield train_test_disjoint_with_gap(pair, warehouse, training.gap_days)


def train_test_disjoint_with_gap(
    pair: str, warehouse: WarehouseResource, gap_days: int
) -> AssetCheckResult:
    """Train and test are disjoint, test is strictly later, and the gap rows lie between."""
    wh = warehouse.get().for_pair(pair)
    train, test = wh.read(TRAIN), wh.read(TEST)
    known = known_rows(wh.read(FINAL, columns=["date", TARGET]))
    which = {"asset_key": TEST.name, "check_name": DISJOINT}
    try:
        validate_split(train, test, known["date"], gap_days)
    except DataValidationError as exc:
        return AssetCheckResult(
            passed=False, severity=AssetCheckSeverity.ERROR, description=f"{pair}: {exc}", **which
        )
    return AssetCheckResult(passed=True, metadata={"pair": pair, "gap_days": gap_days}, **which)


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
