"""Inference asset: next-day forecasts by the champion, stored once and never rewritten."""

import pandas as pd
from dagster import (
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    Backoff,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
    asset_check,
)

from fx_assets.core.markdown import markdown_table
from fx_assets.core.models.champion import ChampionError
from fx_assets.core.models.inference import ServiceUnavailableError, predict
from fx_assets.core.schemas import PREDICTIONS_SCHEMA
from fx_assets.defs.ingestion.assets import _check_table, _validated, eur_usd_final
from fx_assets.defs.resources import MlflowResource, ModelServiceResource, WarehouseResource

PREVIEW = ["feature_date", "target_date", "probability_up", "direction", "model_version"]


@asset(
    deps=[eur_usd_final, AssetKey("champion_model")],
    group_name="inference",
    kinds={"mlflow", "pandas", "sql"},
    # Over HTTP (FX_MODEL_SERVICE_URL) the model service may be restarting.
    retry_policy=RetryPolicy(
        max_retries=3, delay=5, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
    ),
)
def eur_usd_predictions(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    tracking_store: MlflowResource,
    model_service: ModelServiceResource,
) -> MaterializeResult:
    """The champion's next-day direction forecasts, one per feature date after its training data."""
    wh = warehouse.get()
    try:
        scorer = model_service.scorer(tracking_store)
        try:
            final = wh.read("eur_usd_final")
            stored = wh.read("eur_usd_predictions", columns=["feature_date"])["feature_date"]
            new = predict(final, [d.date() for d in stored], scorer)
            model = scorer.model()
        finally:
            scorer.close()
    except ChampionError as exc:
        # Retrying cannot create a champion or repair a bad model version.
        raise Failure(description=str(exc), allow_retries=False) from None
    except ServiceUnavailableError as exc:
        raise Failure(description=str(exc)) from None
    written = wh.insert_new("eur_usd_predictions", _validated(PREDICTIONS_SCHEMA, new))
    via = "model service" if model_service.url else "in process"
    context.log.info(
        f"eur_usd_predictions: {written} new prediction(s) by {model.name} v{model.version} ({via})"
    )
    latest = wh.read("eur_usd_predictions", newest=5)
    meta: dict[str, object] = {
        "dagster/row_count": wh.count("eur_usd_predictions"),
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


@asset_check(asset=eur_usd_predictions, blocking=True)
def eur_usd_predictions_schema(warehouse: WarehouseResource) -> AssetCheckResult:
    """Stored forecasts: probability in [0, 1], direction matching it, model version present."""
    return _check_table(warehouse, "eur_usd_predictions", PREDICTIONS_SCHEMA)


INFERENCE_ASSETS = [eur_usd_predictions]
INFERENCE_CHECKS = [eur_usd_predictions_schema]
