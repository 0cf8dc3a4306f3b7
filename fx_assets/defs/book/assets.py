"""The book's verdict: every pair's backtest skill, adjusted for the number of pairs tested,
and a cross-sectional illustration. One asset for the whole book, after the pairs'
backtests; the statistics are the core's (``fx_assets.core.evaluation.book``)."""

from dagster import AllPartitionMapping, AssetDep, MaterializeResult, MetadataValue, asset

from fx_assets.core.contracts import BACKTEST, BACKTEST_SUMMARY, RAW
from fx_assets.core.contracts.book import BACKTEST_BOOK
from fx_assets.core.evaluation import tracking
from fx_assets.core.evaluation.book import judge, skill_from_summary
from fx_assets.core.evaluation.crosssection import DEFAULT_K, cross_section
from fx_assets.core.markdown import markdown_table
from fx_assets.core.models.registry import configure_mlflow
from fx_assets.core.reports import BookReport
from fx_assets.core.settings import load_settings
from fx_assets.defs.contracts import asset_metadata, fail, validated
from fx_assets.defs.resources import EvaluationResource, MlflowResource, WarehouseResource

_ALL = AllPartitionMapping()


@asset(
    deps=[
        AssetDep(BACKTEST_SUMMARY.name, partition_mapping=_ALL),
        AssetDep(BACKTEST.name, partition_mapping=_ALL),
    ],
    group_name="book",
    kinds={"pandas", "sql", "mlflow"},
    metadata=asset_metadata(BACKTEST_BOOK),
)
def fx_backtest_book(
    warehouse: WarehouseResource, evaluation: EvaluationResource, tracking_store: MlflowResource
) -> MaterializeResult:
    """Each pair's skill against always-up, adjusted for testing many (Holm; BH beside it).

    The book is FX_PAIRS, as the bootstrap sensor registers it: a pair taken out of the
    setting keeps its rows but is no longer one of the pairs tested, nor counted."""
    wh = warehouse.get()
    book = set(load_settings().book)
    summary = wh.read(BACKTEST_SUMMARY)
    left_out = sorted(set(summary["pair"]) - book)
    summary = summary[summary["pair"].isin(book)].reset_index(drop=True)
    if summary.empty:
        raise fail(
            f"{BACKTEST_SUMMARY.name} has no row for FX_PAIRS ({', '.join(sorted(book))}):"
            " backtest the pairs first (training job)"
        )
    try:
        verdict = judge(skill_from_summary(summary))
    except ValueError as exc:
        raise fail(str(exc)) from None
    table = validated(BACKTEST_BOOK, verdict.table)
    wh.replace_all(BACKTEST_BOOK, table)
    cross: dict[str, object] = {}
    if verdict.pairs >= 2 * DEFAULT_K:
        closes = wh.read(RAW, columns=["pair", "date", "close"])
        try:
            backtests = wh.read(BACKTEST)
            cross = cross_section(
                backtests[backtests["pair"].isin(book)],
                closes[closes["pair"].isin(book)],
                cost_pips=evaluation.cost_pips,
            ).figures()
        except ValueError as exc:
            cross = {"illustration": f"not computed: {exc}"}
    configure_mlflow(tracking_store.tracking_uri)
    run_id = tracking.log_book(verdict=verdict.figures(), table=table, cross=cross)
    report = BookReport.of(verdict.figures(), cross, mlflow_run_id=run_id)
    shown = table[["pair", "n", "accuracy", "p_value", "p_bh", "p_holm", "skilful_adjusted"]]
    return MaterializeResult(
        metadata={
            "dagster/row_count": len(table),
            "pairs": MetadataValue.md(markdown_table(shown)),
            # Pairs with a backtest that FX_PAIRS no longer holds: not tested, not counted.
            "left_out": ", ".join(left_out) or "none",
            **report.to_metadata(),
        }
    )
