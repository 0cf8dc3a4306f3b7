"""Dagster resources: thin, typed wrappers over the core, built from ``Settings``.

Fields that receive a credential are ``LOCKED``: run config cannot change them at launch
(``fx_assets.defs.locked``), nor the ``mlflow`` parent run's tracking URI.

``resources()`` is the code location's ``@definitions`` function for them: it runs when
Dagster loads the definitions, never at import. A secret that is set reaches Dagster as
an ``EnvVar`` (the UI shows the variable's name, never its value).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any, ClassVar, cast

import dagster as dg
from dagster import ConfigurableResource, EnvVar, InitResourceContext, resource
from dagster_mlflow.resources import CONFIG_SCHEMA, MlFlow
from pydantic import Field, SecretStr

from fx_assets.core.alerts import AlertConfig
from fx_assets.core.domain import EXPERIMENT_NAME
from fx_assets.core.ingestion.catalog import make_source
from fx_assets.core.ingestion.sources import Source
from fx_assets.core.models import registry
from fx_assets.core.models.champion import load_champion
from fx_assets.core.models.inference import InProcessScorer, Scorer, ServiceScorer
from fx_assets.core.pairs import DEFAULT_PAIR, Pair
from fx_assets.core.settings import TWELVEDATA_URL, Settings, env_name, load_settings
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.locked import LockedResource, refuse_run_config

_DEFAULTS = Settings.model_fields


def _default(field: str) -> Any:
    return _DEFAULTS[field].default


def _field(field: str) -> Any:
    """A resource field with the setting's default and description."""
    return Field(default=_default(field), description=_DEFAULTS[field].description)


class WarehouseResource(LockedResource):
    """The SQL warehouse holding the ``eur_usd_*`` tables."""

    LOCKED: ClassVar[dict[str, str]] = {"url": "warehouse_url"}
    url: str

    def get(self) -> Warehouse:
        return Warehouse.cached(self.url)


class MarketDataResource(LockedResource):
    """Where daily bars come from and how bad rows are treated (FX_SOURCE, FX_ON_BAD_ROWS)."""

    LOCKED: ClassVar[dict[str, str]] = {
        "source": "source",
        "twelvedata_api_key": "twelvedata_api_key",
        "twelvedata_base_url": "twelvedata_base_url",
        "ecb_url": "ecb_url",
        "cache_dir": "home",
    }
    source: str = "ecb"
    start_date: str | None = None
    twelvedata_api_key: str | None = None
    twelvedata_base_url: str = TWELVEDATA_URL
    ecb_url: str = Field(default=_default("ecb_url"))
    twelvedata_requests_per_minute: int = _field("twelvedata_requests_per_minute")
    cache_dir: str | None = Field(default=None, description="where ecb-live keeps its download")
    on_bad_rows: str = Field(default=_default("on_bad_rows"))
    max_rejected_share: float = Field(default=_default("max_rejected_share"))
    stale_after_days: int = Field(default=_default("stale_after_days"))

    def client(self, book: list[str] | None = None) -> Source:
        """The source, for the pairs ``book`` (a pair-less CSV serves a one-pair book)."""
        return make_source(
            self.source,
            api_key=self.twelvedata_api_key,
            base_url=self.twelvedata_base_url,
            ecb_url=self.ecb_url,
            cache_dir=self.cache_dir,
            book=book,
            requests_per_minute=self.twelvedata_requests_per_minute,
        )


class TrainingResource(ConfigurableResource):
    """How the weekly training splits, cross-validates, tunes and promotes."""

    test_days: int = _field("test_days")
    gap_days: int = _field("gap_days")
    cv_folds: int = _field("cv_folds")
    tuning_budget: int = _field("tuning_budget")
    tuning_timeout: float = _field("tuning_timeout")
    promotion_margin: float = _field("promotion_margin")
    promotion_policy: str = _field("promotion_policy")
    seed: int = _field("seed")
    pooled_candidate: bool = _field("pooled_candidate")


class MonitoringResource(ConfigurableResource):
    """How drift and decay are judged (FX_DRIFT_*, FX_RETRAIN_*)."""

    drift_window: int = _field("drift_window")
    drift_alarm_rate: float = _field("drift_alarm_rate")
    retrain_on_decay: bool = _field("retrain_on_decay")
    retrain_min_days: int = _field("retrain_min_days")


# The backtest's settings are FX_BACKTEST_<field>.
_EVALUATION_PREFIX = "backtest_"


class EvaluationResource(ConfigurableResource):
    """How the walk-forward backtest refits and what a position change costs."""

    refit_days: int = _field(_EVALUATION_PREFIX + "refit_days")
    min_train_days: int = _field(_EVALUATION_PREFIX + "min_train_days")
    cost_pips: float = _field(_EVALUATION_PREFIX + "cost_pips")
    # Processes a backtest's refits use: FX_MAX_PARALLEL, which `fx run` divides among the
    # pairs it runs at once, so that the book never runs more fits than cores.
    jobs: int = Field(default=2, ge=1, description="processes a backtest's refits use")


def _alert_field(field: str) -> Any:
    return _field(AlertConfig.SETTINGS[field])


class AlertsResource(LockedResource):
    """Where alerts go: a Slack-compatible webhook and/or email (both optional).

    The fields of the core's ``AlertConfig``, which does the work (``config()``). Every
    field but the sender's name carries or directs a credential: locked at launch.
    """

    LOCKED: ClassVar[dict[str, str]] = {
        f: s for f, s in AlertConfig.SETTINGS.items() if f != "smtp_from"
    }

    webhook_url: str | None = _alert_field("webhook_url")
    email_to: str | None = _alert_field("email_to")
    smtp_host: str | None = _alert_field("smtp_host")
    smtp_port: int = _alert_field("smtp_port")
    smtp_user: str | None = _alert_field("smtp_user")
    smtp_password: str | None = _alert_field("smtp_password")
    smtp_from: str = _alert_field("smtp_from")

    def config(self) -> AlertConfig:
        return AlertConfig(**{name: getattr(self, name) for name in AlertConfig.SETTINGS})

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertsResource:
        """Each field from its setting; a secret that is set goes in as its variable."""
        return cls(
            **{
                name: _secret(settings, field)
                if _is_secret(settings, field)
                else getattr(settings, field)
                for name, field in AlertConfig.SETTINGS.items()
            }
        )


class MlflowResource(LockedResource):
    """The MLflow tracking store and model registry (SQLite under FX_HOME by default)."""

    LOCKED: ClassVar[dict[str, str]] = {"tracking_uri": "mlflow_tracking_uri"}
    tracking_uri: str

    def client(self) -> Any:
        return registry.client(self.tracking_uri)


class ModelServiceResource(LockedResource):
    """Where predictions are scored: the champion in process, or the model service over HTTP."""

    LOCKED: ClassVar[dict[str, str]] = {"url": "model_service_url", "token": "api_token"}
    url: str | None = Field(
        default=None, description="Model service root (FX_MODEL_SERVICE_URL); unset: in process."
    )
    token: str | None = Field(default=None, description="Its bearer token (FX_API_TOKEN).")

    def scorer(self, tracking: MlflowResource, pair: str = DEFAULT_PAIR) -> Scorer:
        """``pair``'s champion: its own registered model, in process or behind the service."""
        if self.url:
            return ServiceScorer(self.url, self.token, pair=pair)
        return InProcessScorer(load_champion(tracking.client(), name=Pair.parse(pair).model_name))


class _ParentRunOnFirstUse:
    """dagster-mlflow's ``MlFlow``, made when a step first uses it.

    The training job's ``end_mlflow_on_run_finished`` hook requires the ``mlflow``
    resource of every step, so every step used to find and resume the parent MLflow run
    (about eleven requests to the tracking server) and end it again, the split's and the
    checks' steps too, which never log to MLflow. Made on first use, a step that does not
    log opens nothing; a step that logs ends the parent run at its teardown, and the hook
    still marks it failed when a step fails.
    """

    def __init__(self, context: InitResourceContext) -> None:
        self._context = context
        self._tracker: MlFlow | None = None
        self._started: Any = None

    def _get(self) -> MlFlow:
        import mlflow

        if self._tracker is None:
            registry.client(self._context.resource_config.get("mlflow_tracking_uri"))
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*MlFlow.*beta.*")
                self._tracker = MlFlow(self._context)
            # Its own ``mlflow_run_id`` stays None for a run it created: remember the active one.
            self._started = mlflow.active_run()
        return self._tracker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    def end_run(self, *args: Any, **kwargs: Any) -> None:
        """The hook's call: after the job's last step (no status), nothing to end in a
        process where no step opened the parent run (a step that opens it ends it at its
        teardown); after a failed step (status FAILED), the parent run is marked failed."""
        if self._tracker is None and not args and not kwargs:
            return
        self._get().end_run(*args, **kwargs)

    def close(self) -> None:
        """End the parent run in this process if this step started it and left it active."""
        import mlflow

        if self._tracker is None:
            return
        active, started = mlflow.active_run(), self._started
        if active is not None and started is not None and active.info.run_id == started.info.run_id:
            mlflow.end_run()


@resource(
    config_schema=CONFIG_SCHEMA,
    description="dagster-mlflow's run-scoped parent MLflow run, on this project's store.",
)
def mlflow_training_run(context: InitResourceContext) -> Iterator[MlFlow]:
    """dagster-mlflow's ``mlflow_tracking``, after the store and experiment exist, made
    when the step first uses it (``_ParentRunOnFirstUse``).

    Wrapped because its legacy resource creates a missing experiment with MLflow's
    default artifact location (``./mlruns`` of whatever directory the run starts in);
    ``registry.client`` creates it first with the artifact root under FX_HOME. Its
    ``end_mlflow_on_run_finished`` hook ends the run on the training job; a run without
    the hook (``materialize``) or whose last step was skipped is ended at teardown, so
    it is never left active in the process for the next one.
    """
    # `configured` fixes its config, but a launch could still pass some: refuse it.
    refuse_run_config(context, {"mlflow_tracking_uri": "mlflow_tracking_uri"})
    parent = _ParentRunOnFirstUse(context)
    try:
        # It stands in for the MlFlow it makes: every attribute is the tracker's.
        yield cast(MlFlow, parent)
    finally:
        parent.close()


def parent_run_id(mlflow: MlFlow) -> str:
    """The active parent run dagster-mlflow started for this Dagster run."""
    run = mlflow.active_run()
    if run is None:
        raise dg.Failure(
            "no active MLflow parent run: this asset needs the `mlflow` resource",
            allow_retries=False,
        )
    return run.info.run_id


def pair_parent_run_id(mlflow: MlFlow, pair: str) -> str:
    """``parent_run_id``, the parent run tagged with ``pair``: a Dagster run of the training
    is one pair's, and the book's runs share one experiment (filter by the tag)."""
    run_id = parent_run_id(mlflow)
    mlflow.set_tag(registry.TAG_PAIR, pair)
    return run_id


def mlflow_parent_run(tracking_uri: Any) -> Any:
    """The ``mlflow`` resource: dagster-mlflow's parent run on ``tracking_uri``."""
    return mlflow_training_run.configured(
        {
            "experiment_name": EXPERIMENT_NAME,
            "mlflow_tracking_uri": tracking_uri,
            "extra_tags": {registry.TAG_RUN_KIND: "training"},
        }
    )


def _secret(settings: Settings, field: str) -> Any:
    """An ``EnvVar`` for a secret that is set (the UI shows its name), else None."""
    return EnvVar(env_name(field)) if getattr(settings, field) is not None else None


def _is_secret(settings: Settings, field: str) -> bool:
    return isinstance(getattr(settings, field), SecretStr)


def _env_or_value(settings: Settings, field: str) -> Any:
    """A URL that may hold a password goes in as its variable when the user set it."""
    return EnvVar(env_name(field)) if settings.is_set(field) else getattr(settings, field)


def _from_settings(
    resource: type[ConfigurableResource], settings: Settings, prefix: str = "", **given: Any
) -> Any:
    """A resource whose every field is the setting of the same name, after ``prefix``, but
    for the fields ``given``."""
    read = {n: getattr(settings, prefix + n) for n in resource.model_fields if n not in given}
    return resource(**read, **given)


def build_resources(settings: Settings) -> dict[str, Any]:
    tracking_uri = _env_or_value(settings, "mlflow_tracking_uri")
    return {
        "warehouse": WarehouseResource(url=_env_or_value(settings, "warehouse_url")),
        "market_data": MarketDataResource(
            source=settings.source,
            start_date=settings.start_date.isoformat() if settings.start_date else None,
            twelvedata_api_key=_secret(settings, "twelvedata_api_key"),
            twelvedata_base_url=settings.twelvedata_base_url,
            ecb_url=settings.ecb_url,
            twelvedata_requests_per_minute=settings.twelvedata_requests_per_minute,
            cache_dir=str(settings.home / "sources"),
            on_bad_rows=settings.on_bad_rows,
            max_rejected_share=settings.max_rejected_share,
            stale_after_days=settings.stale_after_days,
        ),
        "training": _from_settings(TrainingResource, settings),
        "monitoring": _from_settings(MonitoringResource, settings),
        "evaluation": _from_settings(
            EvaluationResource, settings, _EVALUATION_PREFIX, jobs=settings.max_parallel
        ),
        "alerts": AlertsResource.from_settings(settings),
        "tracking_store": MlflowResource(tracking_uri=tracking_uri),
        "mlflow": mlflow_parent_run(
            {"env": env_name("mlflow_tracking_uri")}
            if settings.is_set("mlflow_tracking_uri")
            else settings.mlflow_tracking_uri
        ),
        "model_service": ModelServiceResource(
            url=settings.model_service_url, token=_secret(settings, "api_token")
        ),
    }


@dg.definitions
def resources() -> dg.Definitions:
    """Every resource of the code location, from the environment at load time."""
    return dg.Definitions(resources=build_resources(load_settings()))
