"""The ``fx_assets`` code location: assets, checks, jobs, schedules, sensors, resources."""

from dagster import Definitions

from fx_assets.defs.inference.assets import INFERENCE_ASSETS, INFERENCE_CHECKS
from fx_assets.defs.inference.sensors import SENSORS
from fx_assets.defs.ingestion.assets import ETL_ASSETS, ETL_CHECKS
from fx_assets.defs.jobs import (
    etl_job,
    etl_schedule,
    predictions_job,
    training_job,
    training_schedule,
)
from fx_assets.defs.training.assets import TRAINING_ASSETS
from fx_assets.defs.training.checks import TRAINING_CHECKS
from fx_assets.defs.wiring import build_resources

defs = Definitions(
    assets=[*ETL_ASSETS, *TRAINING_ASSETS, *INFERENCE_ASSETS],
    asset_checks=[*ETL_CHECKS, *TRAINING_CHECKS, *INFERENCE_CHECKS],
    jobs=[etl_job, training_job, predictions_job],
    schedules=[etl_schedule, training_schedule],
    sensors=SENSORS,
    resources=build_resources(),
)
