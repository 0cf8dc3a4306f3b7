"""The ``fx_assets`` code location: assets, checks, jobs, schedules, sensors, resources."""

from dagster import Definitions

from fx_assets.assets.etl import ETL_ASSETS, ETL_CHECKS
from fx_assets.jobs import etl_job, etl_schedule
from fx_assets.wiring import build_resources

defs = Definitions(
    assets=[*ETL_ASSETS],
    asset_checks=[*ETL_CHECKS],
    jobs=[etl_job],
    schedules=[etl_schedule],
    resources=build_resources(),
)
