"""Inference asset: each pair's next-day forecasts by its own champion, stored once and
never rewritten."""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    Backoff,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
)

from fx_assets.core.contracts import FINAL, PREDICTIONS
from fx_assets.core.markdown import markdown_table
from fx_assets.core.models.champion import ChampionError
from fx_assets.core.models.inference import ServiceUnavailableError, predict
from fx_assets.core.pairs import Pair
from fx_assets.defs.contracts import asset_metadata, fail, validated
from fx_assets.defs.ingestion.partitions import PAIRS
from fx_assets.defs.resources import MlflowResource, ModelServiceResource, WarehouseResource

PREVIEW = ["feature_date", "target_date", "probability_up", "direction", "model_version"]


@asset(
    partitions_def=PAIRS,
    deps=[FINAL.name, "champion_model"],
    group_name="inference",
    kinds={"mlflow", "pandas", "sql"},
    metadata=asset_metadata(PREDICTIONS),
    # Over HTTP (FX_MODEL_SERVICE_URL) the model service may be restarting.
    retry_policy=RetryPolicy(
        max_retries=3, delay=5, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
    ),
)
def fx_predictions(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    tracking_store: MlflowResource,
    model_service: ModelServiceResource,
) -> MaterializeResult:
    """The pair's champion's next-day direction forecasts, one per feature date after its
    training data."""
    pair = Pair.parse(context.partition_key).code
    wh = warehouse.get().for_pair(pair)
    try:
        scorer = model_service.scorer(tracking_store, pair)
        try:
            final = wh.read(FINAL)
            if final.empty:
                raise fail(f"{FINAL.name} holds no row of {pair}: materialize its features first")
            stored = wh.read(PREDICTIONS, columns=["feature_date"])["feature_date"]
            new = predict(final, [d.date() for d in stored], scorer)
            model = scorer.model()
        finally:
            scorer.close()
    except ChampionError as exc:
        # Retrying cannot create a champion or repair a bad model version.
        raise fail(f"{pair}: {exc}") from None
    except ServiceUnavailableError as exc:
        raise Failure(description=f"{pair}: {exc}") from None
    written = wh.insert_new(PREDICTIONS, validated(PREDICTIONS, new))
    via = "model service" if model_service.url else "in process"
    context.log.info(
        f"{PREDICTIONS.name} {pair}: {written} new prediction(s) by {model.name} "
        f"v{model.version} ({via})"
    )
    latest = wh.read(PREDICTIONS, newest=5)
    meta: dict[str, object] = {
        "dagster/row_count": wh.count(PREDICTIONS),
        "pair": pair,
        "new_predictions": written,
        "model_name": model.name,
        "model_version": model.version,
        "training_cutoff": str(model.training_cutoff),
        "scored": via,
    }
    if len(latest):
        newest = latest.iloc[-1]
        meta["forecast_for"] = str(pd.Timestamp(newest["target_date"]).date())
        meta["forecast_probability_up"] = float(newest["probability_up"])
        meta["forecast_direction"] = "up" if int(newest["direction"]) == 1 else "down"
        meta["preview"] = MetadataValue.md(markdown_table(latest[PREVIEW]))
    return MaterializeResult(metadata=meta)
