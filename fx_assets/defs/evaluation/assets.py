"""Evaluation, per pair: the pair's champion's recipe walked forward over its whole
history, and its verdict (costs in the pair's own pips).

Thin bodies: the walk-forward, the statistics, the trading view and the figures are the
core's (``fx_assets.core.evaluation``); these assets read, write and describe.
"""

import time
from collections.abc import Iterator

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
    multi_asset,
)
from dagster_mlflow.resources import MlFlow

from fx_assets.core.contracts import (
    BACKTEST,
    BACKTEST_SUMMARY,
    BACKTEST_YEARLY,
    FINAL,
    STAGING,
)
from fx_assets.core.domain import TARGET
from fx_assets.core.evaluation import tracking as evaluation_tracking
from fx_assets.core.evaluation.backtest import backtest
from fx_assets.core.evaluation.stats import DEFAULT_BLOCK, DEFAULT_RESAMPLES
from fx_assets.core.evaluation.summary import (
    equity_curves,
    summarize,
    summarize_by_year,
    verdict,
)
from fx_assets.core.evaluation.trading import DISCLAIMER
from fx_assets.core.markdown import markdown_table
from fx_assets.core.models import registry
from fx_assets.core.models.loader import ModelRefusedError, load_estimator
from fx_assets.core.pairs import Pair
from fx_assets.core.reports import BacktestReport, BacktestSummaryReport
from fx_assets.core.training.pooled import POOLED
from fx_assets.core.training.splits import InsufficientHistoryError
from fx_assets.defs.contracts import asset_metadata, fail, table_metadata, validated
from fx_assets.defs.ingestion.partitions import PAIRS
from fx_assets.defs.pools import BACKTEST_POOL
from fx_assets.defs.resources import (
    EvaluationResource,
    MlflowResource,
    TrainingResource,
    WarehouseResource,
    pair_parent_run_id,
)

_KINDS = {"scikitlearn", "pandas", "sql"}


@asset(
    deps=[FINAL.name, "champion_model"],
    group_name="evaluation",
    kinds=_KINDS,
    metadata=asset_metadata(BACKTEST),
    # Too short a history skips the backtest (and its summary) instead of failing the
    # training run it belongs to: the promotion has already happened.
    output_required=False,
    partitions_def=PAIRS,
    # Dozens of refits: the instance's pool limit (dagster.yaml) bounds them across runs.
    pool=BACKTEST_POOL,
)
def fx_backtest(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    training: TrainingResource,
    evaluation: EvaluationResource,
    tracking_store: MlflowResource,
) -> Iterator[MaterializeResult]:
    """The champion's recipe refit monthly over the whole history: would it have had skill?"""
    pair = context.partition_key
    name = Pair.parse(pair).model_name
    client = tracking_store.client()
    champion = registry.alias_version(client, registry.CHAMPION, name=name)
    if champion is None:
        raise fail(f"{name} has no champion; materialize champion_model for {pair} first")
    try:
        # The champion's own estimator, cloned unfitted per refit: exactly its recipe.
        estimator = load_estimator(client, champion.version, name)
    except ModelRefusedError as exc:
        raise fail(str(exc)) from None
    wh = warehouse.get().for_pair(pair)
    final = wh.read(FINAL)
    family = champion.tags.get(registry.TAG_FAMILY, "")
    # A pooled champion is refit on the whole book's rows at each block, as it was trained.
    book = None
    if family == POOLED:
        every = warehouse.get().read(FINAL)
        book = every[every[TARGET].notna()].reset_index(drop=True)
    started = time.perf_counter()
    try:
        rows = backtest(
            final,
            book=book,
            estimator=estimator,
            min_train=evaluation.min_train_days,
            refit_days=evaluation.refit_days,
            gap=training.gap_days,
            seed=training.seed,
            n_jobs=evaluation.jobs,
        )
    except InsufficientHistoryError as exc:
        context.log.warning(f"{pair} backtest skipped: {exc}")
        return
    seconds = time.perf_counter() - started
    wh.replace_tables({BACKTEST: validated(BACKTEST, rows)})
    context.log.info(
        f"{pair} backtest of champion v{champion.version} ({family}): {len(rows)} days,"
        f" {rows['trained_through'].nunique()} refits in {seconds:.1f} s"
    )
    report = BacktestReport(
        pair=pair,
        days=len(rows),
        first_date=str(pd.Timestamp(rows["feature_date"].min()).date()),
        last_date=str(pd.Timestamp(rows["feature_date"].max()).date()),
        champion_version=champion.version,
        family=family,
        refits=int(rows["trained_through"].nunique()),
        refit_days=evaluation.refit_days,
        min_train_days=evaluation.min_train_days,
        gap_days=training.gap_days,
        accuracy=float((rows["direction"] == rows["actual"]).mean()),
        always_up_accuracy=float(rows["actual"].mean()),
        seconds=round(seconds, 1),
    )
    yield MaterializeResult(
        metadata=table_metadata(rows, key="feature_date", **report.to_metadata())
    )


@multi_asset(
    specs=[
        AssetSpec(
            BACKTEST_SUMMARY.name,
            deps=[BACKTEST.name],
            description="The model against always-up, persistence and momentum, with intervals.",
            kinds={"pandas", "sql", "mlflow"},
            metadata=asset_metadata(BACKTEST_SUMMARY),
        ),
        AssetSpec(
            BACKTEST_YEARLY.name,
            deps=[BACKTEST.name],
            description="The same skill figures per calendar year.",
            kinds={"pandas", "sql"},
            metadata=asset_metadata(BACKTEST_YEARLY),
        ),
    ],
    group_name="evaluation",
    partitions_def=PAIRS,
)
def fx_backtest_summary(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    evaluation: EvaluationResource,
    training: TrainingResource,
    mlflow: ResourceParam[MlFlow],
):
    """Is there skill? Accuracy with 95 % intervals, paired p-values and the trading view."""
    pair = context.partition_key
    pip = Pair.parse(pair).pip  # costs are quoted in the pair's own pips
    wh = warehouse.get().for_pair(pair)
    rows = wh.read(BACKTEST)
    if rows.empty:
        raise fail(f"{BACKTEST.name} has no row of {pair}; materialize its {BACKTEST.name} first")
    staging = wh.read(STAGING, columns=["date", "close"])
    closes = dict(zip(pd.to_datetime(staging["date"]), staging["close"], strict=True))
    try:
        summary = summarize(
            rows, closes, cost_pips=evaluation.cost_pips, pip=pip, seed=training.seed
        )
    except ValueError as exc:
        raise fail(f"{pair}: {exc}") from None
    yearly = summarize_by_year(rows, seed=training.seed)
    wh.replace_tables(
        {
            BACKTEST_SUMMARY: validated(BACKTEST_SUMMARY, summary),
            BACKTEST_YEARLY: validated(BACKTEST_YEARLY, yearly),
        }
    )
    words = {b: verdict(summary, b) for b in ("always_up", "persistence", "momentum")}
    pair_parent_run_id(mlflow, pair)  # the backtest's run nests under it
    run_id = evaluation_tracking.log_backtest(
        run_name=f"{pair} backtest {rows['feature_date'].min():%Y}-{rows['feature_date'].max():%Y}",
        pair=pair,
        params={
            "refit_days": evaluation.refit_days,
            "min_train_days": evaluation.min_train_days,
            "gap_days": training.gap_days,
            "cost_pips": evaluation.cost_pips,
            "pip": pip,
            "bootstrap_block_days": DEFAULT_BLOCK,
            "bootstrap_resamples": DEFAULT_RESAMPLES,
            "rows": len(rows),
        },
        backtest=rows,
        summary=summary,
        yearly=yearly,
        curves=equity_curves(rows, closes, cost_pips=evaluation.cost_pips, pip=pip),
    )
    model = summary.set_index("strategy").loc["model"]
    report = BacktestSummaryReport(
        pair=pair,
        strategies=len(summary),
        verdict=words["always_up"],
        verdict_persistence=words["persistence"],
        verdict_momentum=words["momentum"],
        model_accuracy=float(model["accuracy"]),
        model_accuracy_ci_low=float(model["accuracy_ci_low"]),
        model_accuracy_ci_high=float(model["accuracy_ci_high"]),
        trading_note=DISCLAIMER,
        mlflow_run_id=run_id,
    )
    yield MaterializeResult(
        asset_key=BACKTEST_SUMMARY.name,
        metadata={
            "preview": MetadataValue.md(markdown_table(summary, max_rows=4)),
            **report.to_metadata(),
        },
    )
    yield MaterializeResult(
        asset_key=BACKTEST_YEARLY.name,
        metadata={
            "dagster/row_count": len(yearly),
            "years": int(yearly["year"].nunique()),
            "preview": MetadataValue.md(markdown_table(yearly, max_rows=8)),
        },
    )
