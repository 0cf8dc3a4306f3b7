"""Monitoring assets: feature drift and realized performance of each pair's champion, with
WARN checks.

One step per pair computes both tables (its champion is loaded once) and evaluates the
checks on what it just wrote; a fired check alerts a person, naming the pair, and never
blocks.
"""

from collections.abc import Iterator

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)

from fx_assets.core.alerts import check_fired
from fx_assets.core.contracts import DRIFT, FINAL, PERFORMANCE, PREDICTIONS
from fx_assets.core.markdown import markdown_table
from fx_assets.core.models.champion import ChampionError, load_champion
from fx_assets.core.monitoring import findings, report
from fx_assets.core.pairs import Pair
from fx_assets.defs.contracts import asset_metadata, fail, validated
from fx_assets.defs.ingestion.partitions import PAIRS
from fx_assets.defs.monitoring.alerting import notifier
from fx_assets.defs.resources import (
    AlertsResource,
    MlflowResource,
    MonitoringResource,
    WarehouseResource,
)

DEPS = [FINAL.name, PREDICTIONS.name, "champion_model"]
CHECKS = {
    "feature_drift": (DRIFT.name, "Features of the newest window drifted from the training rows."),
    "performance_decay": (PERFORMANCE.name, "The champion is worse than always-up lately."),
    "prediction_drift": (PERFORMANCE.name, "The share of up calls moved from training's."),
    "out_of_range_inputs": (
        DRIFT.name,
        "The newest forecast's inputs are outside the champion's training ranges.",
    ),
}
DRIFT_PREVIEW = ["feature", "ks_stat", "ks_threshold", "outside_share", "rule", "reason"]
PERFORMANCE_PREVIEW = ["window", "n", "degraded", "verdict"]


@multi_asset(
    specs=[
        AssetSpec(
            DRIFT.name,
            deps=DEPS,
            group_name="monitoring",
            kinds={"pandas", "sql"},
            description="Each model feature's newest window against the champion's training rows.",
            metadata=asset_metadata(DRIFT),
        ),
        AssetSpec(
            PERFORMANCE.name,
            deps=DEPS,
            group_name="monitoring",
            kinds={"pandas", "sql"},
            description="Realized accuracy of the stored forecasts against always-up.",
            metadata=asset_metadata(PERFORMANCE),
        ),
    ],
    check_specs=[
        AssetCheckSpec(name, asset=asset, description=text)
        for name, (asset, text) in CHECKS.items()
    ],
    name="model_monitoring",
    partitions_def=PAIRS,
)
def model_monitoring(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    tracking_store: MlflowResource,
    monitoring: MonitoringResource,
    alerts: AlertsResource,
) -> Iterator[MaterializeResult | AssetCheckResult]:
    """Is the pair's champion still looking at the data it learned from, and is it right?"""
    pair = Pair.parse(context.partition_key)
    wh = warehouse.get().for_pair(pair.code)
    try:
        champion = load_champion(tracking_store.client(), name=pair.model_name)
    except ChampionError as exc:
        raise fail(f"{pair.code}: {exc}") from None
    predictions = wh.read(PREDICTIONS)
    tables = report.monitor(
        wh.read(FINAL),
        predictions,
        champion,
        window=monitoring.drift_window,
        rate=monitoring.drift_alarm_rate,
    )
    drift_rows = validated(DRIFT, tables.drift)
    written = 0
    if len(drift_rows):
        written = wh.replace_where(
            DRIFT,
            drift_rows,
            window_end=drift_rows["window_end"].iloc[0],
            model_version=champion.version,
        )
    perf_rows = validated(PERFORMANCE, tables.performance)
    perf_written = 0
    if len(perf_rows):
        perf_written = wh.replace_where(
            PERFORMANCE, perf_rows, window_end=perf_rows["window_end"].iloc[0]
        )
    drift_finding = findings.feature_drift(tables.drift)
    yield MaterializeResult(
        asset_key=DRIFT.name,
        metadata={
            "dagster/row_count": written,
            "pair": pair.code,
            "model_version": champion.version,
            "drifted_features": len(drift_finding.metadata.get("drifted", {})),
            "window": drift_finding.metadata.get("window", "none"),
            "preview": MetadataValue.md(
                markdown_table(tables.drift.sort_values("ks_stat", ascending=False)[DRIFT_PREVIEW])
                if len(tables.drift)
                else "no feature rows yet"
            ),
        },
    )
    yield MaterializeResult(
        asset_key=PERFORMANCE.name,
        metadata={
            "dagster/row_count": perf_written,
            "pair": pair.code,
            "model_version": champion.version,
            "resolved_predictions": int(tables.performance["n"].max()) if perf_written else 0,
            "preview": MetadataValue.md(
                markdown_table(tables.performance[PERFORMANCE_PREVIEW])
                if perf_written
                else "no resolved prediction of this champion yet"
            ),
        },
    )
    send = notifier(alerts, warehouse)
    for finding in (
        drift_finding,
        findings.performance_decay(tables.performance),
        findings.prediction_drift(tables.performance),
        findings.out_of_range_inputs(
            predictions[predictions["model_version"].astype(str) == champion.version]
        ),
    ):
        finding = finding.for_pair(pair.code)
        if finding.fired:
            send(
                check_fired(
                    pair.code,
                    finding.check,
                    champion.name,
                    champion.version,
                    finding.alert_text(),
                )
            )
            context.log.warning(f"{finding.check}: {finding.summary}")
        yield AssetCheckResult(
            check_name=finding.check,
            asset_key=CHECKS[finding.check][0],
            passed=not finding.fired,
            severity=AssetCheckSeverity.WARN,
            description=finding.summary,
            metadata={k: _meta(v) for k, v in finding.metadata.items()},
        )


def _meta(value: object) -> object:
    """Check metadata values Dagster takes: nested figures as JSON."""
    if isinstance(value, dict):
        return MetadataValue.json(value)
    return value
