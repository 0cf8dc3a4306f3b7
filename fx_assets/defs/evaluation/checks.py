"""Blocking checks of the evaluation tables: their contracts, and no look-ahead."""

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check

from fx_assets.core.contracts import BACKTEST, BACKTEST_SUMMARY, BACKTEST_YEARLY, FINAL
from fx_assets.core.domain import TARGET
from fx_assets.core.training.splits import known_rows
from fx_assets.defs.contracts import contract_check
from fx_assets.defs.resources import TrainingResource, WarehouseResource

fx_backtest_schema = contract_check(
    BACKTEST, "Backtest rows: unique sorted feature dates, probabilities in [0, 1], 0/1 directions."
)
fx_backtest_summary_schema = contract_check(
    BACKTEST_SUMMARY, "One row per strategy, accuracy inside its interval's bounds."
)
fx_backtest_yearly_schema = contract_check(
    BACKTEST_YEARLY, "One row per strategy and calendar year."
)


@asset_check(asset=BACKTEST.name, blocking=True)
def backtest_never_looks_ahead(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource, training: TrainingResource
) -> AssetCheckResult:
    """Every forecast was made by a model trained on rows at least the gap before its day."""
    pair = context.partition_key
    wh = warehouse.get().for_pair(pair)
    rows = wh.read(BACKTEST, columns=["feature_date", "trained_through"])
    known = known_rows(wh.read(FINAL, columns=["date", TARGET]))
    position = {d: i for i, d in enumerate(known["date"])}
    late = [
        f"{f:%Y-%m-%d}"
        for f, t in zip(rows["feature_date"], rows["trained_through"], strict=True)
        if t not in position or f not in position or position[f] - position[t] <= training.gap_days
    ]
    if late:
        return AssetCheckResult(
            passed=False,
            severity=AssetCheckSeverity.ERROR,
            description=(
                f"{pair}: {len(late)} backtest forecasts were made by a model trained too close to"
                f" their day (within {training.gap_days} rows), e.g. {', '.join(late[:3])}:"
                f" rematerialize {BACKTEST.name} of {pair}"
            ),
        )
    return AssetCheckResult(passed=True, metadata={"pair": pair, "rows": len(rows)})
