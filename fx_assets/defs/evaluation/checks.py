"""Blocking checks of the evaluation tables: their contracts, and no look-ahead.

One step per asset step (the backtest's two checks; the summary's and the yearly table's,
both written by ``fx_backtest_summary``): a step costs its run a worker's task on Celery
and a few events, whatever it checks. Each is still its own blocking check in the UI.
"""

from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    multi_asset_check,
)

from fx_assets.core.contracts import BACKTEST, BACKTEST_SUMMARY, BACKTEST_YEARLY, FINAL
from fx_assets.core.domain import TARGET
from fx_assets.core.training.splits import known_rows
from fx_assets.defs.contracts import check_stored, run_pair, schema_spec
from fx_assets.defs.resources import TrainingResource, WarehouseResource

LOOK_AHEAD = "backtest_never_looks_ahead"


@multi_asset_check(
    specs=[
        schema_spec(
            BACKTEST,
            "Backtest rows: unique sorted feature dates, probabilities in [0, 1], 0/1 directions.",
        ),
        AssetCheckSpec(
            LOOK_AHEAD,
            asset=BACKTEST.name,
            blocking=True,
            description=(
                "Every forecast was made by a model trained on rows at least the gap before"
                " its day."
            ),
        ),
    ],
)
def fx_backtest_checks(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource, training: TrainingResource
) -> Iterator[AssetCheckResult]:
    """The backtest's contract on the run's pair, then no look-ahead."""
    pair = context.partition_key  # the pair's run (pair-partitioned assets)
    yield check_stored(warehouse, BACKTEST, pair, named=True)
    yield backtest_never_looks_ahead(pair, warehouse, training.gap_days)


@multi_asset_check(
    specs=[
        schema_spec(
            BACKTEST_SUMMARY, "One row per strategy, accuracy inside its interval's bounds."
        ),
        schema_spec(BACKTEST_YEARLY, "One row per strategy and calendar year."),
    ],
)
def fx_backtest_summary_checks(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> Iterator[AssetCheckResult]:
    """The summary's and the yearly table's contracts on the run's pair."""
    pair = run_pair(context)
    yield check_stored(warehouse, BACKTEST_SUMMARY, pair, named=True)
    yield check_stored(warehouse, BACKTEST_YEARLY, pair, named=True)


def backtest_never_looks_ahead(
    pair: str, warehouse: WarehouseResource, gap_days: int
) -> AssetCheckResult:
    """Every forecast was made by a model trained on rows at least the gap before its day."""
    wh = warehouse.get().for_pair(pair)
    rows = wh.read(BACKTEST, columns=["feature_date", "trained_through"])
    known = known_rows(wh.read(FINAL, columns=["date", TARGET]))
    position = {d: i for i, d in enumerate(known["date"])}
    late = [
        f"{f:%Y-%m-%d}"
        for f, t in zip(rows["feature_date"], rows["trained_through"], strict=True)
        if t not in position or f not in position or position[f] - position[t] <= gap_days
    ]
    which = {"asset_key": BACKTEST.name, "check_name": LOOK_AHEAD}
    if late:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=(
                f"{pair}: {len(late)} backtest forecasts were made by a model trained too close to"
                f" their day (within {gap_days} rows), e.g. {', '.join(late[:3])}:"
                f" rematerialize {BACKTEST.name} of {pair}"
            ),
            **which,
        )
    return AssetCheckResult(passed=True, metadata={"pair": pair, "rows": len(rows)}, **which)
