"""Dagster resources: thin, typed wrappers over the Dagster-free modules."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from dagster import ConfigurableResource
from pydantic import Field

from fx_assets.core.ingestion.sources import Source, make_source
from fx_assets.core.ingestion.twelvedata import DEFAULT_BASE_URL
from fx_assets.core.models import registry
from fx_assets.core.models.champion import load_champion
from fx_assets.core.models.inference import InProcessScorer, Scorer, ServiceScorer
from fx_assets.core.training.modeling import DEFAULT_CV_FOLDS, DEFAULT_TUNING_BUDGET, SEED
from fx_assets.core.training.promotion import DEFAULT_MARGIN
from fx_assets.core.training.splits import DEFAULT_GAP_DAYS, DEFAULT_TEST_DAYS
from fx_assets.core.warehouse import Warehouse


class WarehouseResource(ConfigurableResource):
    """The SQL warehouse holding the ``eur_usd_*`` tables."""

    url: str

    def get(self) -> Warehouse:
        return Warehouse.cached(self.url)


class MarketDataResource(ConfigurableResource):
    """Where daily EUR/USD bars come from: ``ecb``, ``twelvedata`` or ``csv:PATH``."""

    source: str = "ecb"
    start_date: str | None = None
    twelvedata_api_key: str | None = None
    twelvedata_base_url: str = DEFAULT_BASE_URL

    def client(self) -> Source:
        return make_source(
            self.source,
            api_key=self.twelvedata_api_key,
            base_url=self.twelvedata_base_url,
        )

    def first_date(self) -> date:
        if self.start_date:
            return date.fromisoformat(self.start_date)
        return self.client().first_date()


class TrainingResource(ConfigurableResource):
    """How the weekly training splits, cross-validates, tunes and promotes."""

    test_days: int = Field(
        default=DEFAULT_TEST_DAYS, description="Newest trading days held out as the test set."
    )
    gap_days: int = Field(
        default=DEFAULT_GAP_DAYS,
        description="Trading days dropped between train and test (and between CV folds).",
    )
    cv_folds: int = Field(default=DEFAULT_CV_FOLDS, description="Time-series CV folds.")
    tuning_budget: int = Field(
        default=DEFAULT_TUNING_BUDGET,
        description="Hyperparameter configurations tried for the best family (defaults first).",
    )
    promotion_margin: float = Field(
        default=DEFAULT_MARGIN,
        description="PR-AUC lift over the champion a challenger needs to be promoted.",
    )
    seed: int = Field(default=SEED, description="Random seed of every model.")


class MlflowResource(ConfigurableResource):
    """The MLflow tracking store and model registry (SQLite under FX_HOME by default)."""

    tracking_uri: str

    def client(self) -> Any:
        return registry.client(self.tracking_uri)

    @contextmanager
    def run_for(self, dagster_run_id: str, job_name: str) -> Iterator[str]:
        """The MLflow parent run of one Dagster run, active for the block; yields its id.

        Found by its ``dagster_run_id`` tag, else created, so every step of a Dagster run
        (one process or one per step) nests its runs under the same parent. The parent is
        resumed for the block and ended with the block's outcome.
        """
        import mlflow

        client = self.client()
        experiment = client.get_experiment_by_name(registry.EXPERIMENT_NAME)
        found = client.search_runs(
            [experiment.experiment_id],
            filter_string=(
                f"tags.{registry.TAG_DAGSTER_RUN_ID} = '{dagster_run_id}'"
                f" and tags.`{registry.TAG_RUN_KIND}` = 'training'"
            ),
            max_results=1,
        )
        if found:
            parent_id = found[0].info.run_id
        else:
            parent_id = client.create_run(
                experiment.experiment_id,
                run_name=f"{job_name} {dagster_run_id[:8]}",
                tags={
                    registry.TAG_DAGSTER_RUN_ID: dagster_run_id,
                    registry.TAG_RUN_KIND: "training",
                    "dagster_job": job_name,
                },
            ).info.run_id
        with mlflow.start_run(run_id=parent_id):
            yield parent_id


class ModelServiceResource(ConfigurableResource):
    """Where predictions are scored: the champion in process, or the model service over HTTP."""

    url: str | None = Field(
        default=None, description="Model service root (FX_MODEL_SERVICE_URL); unset: in process."
    )
    token: str | None = Field(default=None, description="Its bearer token (FX_API_TOKEN).")

    def scorer(self, tracking: MlflowResource) -> Scorer:
        if self.url:
            return ServiceScorer(self.url, self.token)
        return InProcessScorer(load_champion(tracking.client()))
