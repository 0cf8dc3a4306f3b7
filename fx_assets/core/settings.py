"""Every environment variable the platform reads, declared once with its default.

One pydantic-settings class: the Dagster resources, the command line, the model service
and the dashboard all build it (``load_settings()``) at call time, never at import time,
and ``docs/configuration.md`` is generated from it: ``python -m fx_assets.core.settings``.
Secrets are ``SecretStr``: they print as ``**********`` and reach Dagster as ``EnvVar``.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import (
    AliasChoices,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from fx_assets.core.pairs import DEFAULT_BOOK, parse_book

ECB_LIVE_URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip"
TWELVEDATA_URL = "https://api.twelvedata.com"


class ConfigError(ValueError):
    """A setting a user gave is unusable; the message says which and what to do."""


def _env(name: str) -> Any:
    """A field read from exactly ``name`` (no FX_ prefix added)."""
    return AliasChoices(name)


class Settings(BaseSettings):
    """The platform's configuration, from the environment (all optional)."""

    # env_ignore_empty: docker-compose.yml passes every knob as `${FX_GAP_DAYS:-}`, so an
    # unset one arrives as "", which means the default (.env.example: "empty: the defaults").
    model_config = SettingsConfigDict(
        env_prefix="FX_",
        case_sensitive=False,
        extra="ignore",
        populate_by_name=True,
        env_ignore_empty=True,
    )

    _given: frozenset[str] = PrivateAttr(default=frozenset())

    # --- where state lives ------------------------------------------------------------
    home: Path = Field(Path(".fx"), description="where local state lives")
    # These three are filled from FX_HOME when unset (see ``_defaults_under_home``).
    warehouse_url: str | None = Field(
        None,
        description="the warehouse; default `sqlite:///$FX_HOME/warehouse.db`; "
        "`postgresql://user@host/db` uses psycopg 3",
    )
    readonly_warehouse_url: str | None = Field(
        None,
        description="what `fx up` gives the model service and the dashboard "
        "(a read-only role); default the warehouse",
    )
    mlflow_tracking_uri: str | None = Field(
        None,
        validation_alias=_env("MLFLOW_TRACKING_URI"),
        description="MLflow tracking and registry; default `sqlite:///$FX_HOME/mlflow.db` "
        "(artifacts in `$FX_HOME/mlartifacts`)",
    )
    mlflow_backend_store_uri: str | None = Field(
        None,
        validation_alias=_env("MLFLOW_BACKEND_STORE_URI"),
        description="the store of the MLflow server `fx up` starts; default the tracking store",
    )
    mlflow_artifacts_destination: str | None = Field(
        None,
        validation_alias=_env("MLFLOW_ARTIFACTS_DESTINATION"),
        description="where that server keeps artifacts; default `$FX_HOME/mlartifacts`",
    )
    dagster_home: Path | None = Field(
        None,
        validation_alias=_env("DAGSTER_HOME"),
        description="the Dagster instance for the `fx` commands; default `$FX_HOME/dagster`",
    )
    dagster_pg_host: str | None = Field(
        None,
        validation_alias=_env("DAGSTER_PG_HOST"),
        description="set: `fx up` runs Dagster on PostgreSQL (`dagster.yaml`), with `DAGSTER_PG_*`",
    )

    bootstrap: bool = Field(
        True,
        description="`true`: the first start of the daemon on an empty warehouse backfills, "
        "trains and forecasts once; `false`: it waits for a person (or `fx run`)",
    )

    # --- MLflow identities: the deployment's `mlflow server --app-name basic-auth` -----
    mlflow_auth_admin_username: str = Field(
        "admin",
        validation_alias=_env("MLFLOW_AUTH_ADMIN_USERNAME"),
        description="the MLflow server's admin user (`fx mlflow-users` signs in as it)",
    )
    mlflow_auth_admin_password: SecretStr | None = Field(
        None,
        validation_alias=_env("MLFLOW_AUTH_ADMIN_PASSWORD"),
        description="its password (a secret; the server makes the admin with it on first "
        "start); set: `fx up` runs MLflow with authentication",
    )
    mlflow_flask_server_secret_key: SecretStr | None = Field(
        None,
        validation_alias=_env("MLFLOW_FLASK_SERVER_SECRET_KEY"),
        description="the MLflow server's session key (a secret); unset: `fx up` makes one "
        "per start",
    )
    mlflow_training_password: SecretStr | None = Field(
        None, description="password of MLflow user `fx-training` (writes; a secret)"
    )
    mlflow_service_password: SecretStr | None = Field(
        None, description="password of MLflow user `fx-service` (reads; a secret)"
    )
    mlflow_dashboard_password: SecretStr | None = Field(
        None, description="password of MLflow user `fx-dashboard` (reads; a secret)"
    )

    # --- market data ------------------------------------------------------------------
    pairs: str = Field(
        ",".join(DEFAULT_BOOK),
        description="the book: comma-separated pairs, base then quote (`EURUSD,GBPUSD`); "
        "the first is the default view",
    )
    max_parallel: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        description="pairs `fx run` works on at the same time (default: the core count)",
    )
    source: str = Field(
        "ecb",
        description="`ecb` (bundled, offline), `ecb-live` (the ECB's current file), "
        "`twelvedata` or `csv:PATH` (one file, with a `pair` column for a book of several "
        "pairs, or one file per pair with `{pair}` in the path: `csv:data/{pair}.csv`); "
        "every pair of `FX_PAIRS` must be one the source can give",
    )
    start_date: date | None = Field(
        None, description="first date to ingest; default the source's first bar"
    )
    twelvedata_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("TWELVEDATA_API_KEY"),
        description="Twelve Data API key (for `FX_SOURCE=twelvedata`; never logged)",
    )
    twelvedata_base_url: str = Field(
        TWELVEDATA_URL,
        validation_alias=_env("TWELVEDATA_BASE_URL"),
        description="Twelve Data API root",
    )
    twelvedata_requests_per_minute: int = Field(
        8,
        gt=0,
        description="Twelve Data requests at most in any minute, for the whole book and "
        "every process on this `FX_HOME` (the free plan's limit is 8); a request over it waits",
    )
    ecb_url: str = Field(ECB_LIVE_URL, description="the ECB history zip `ecb-live` downloads")
    allow_http_sources: bool = Field(
        False,
        description="test only: `true` lets a keyed source (Twelve Data) use a local "
        "`http://` server; otherwise its URL must be `https://`",
    )
    on_bad_rows: Literal["quarantine", "fail"] = Field(
        "quarantine", description="`quarantine` bad rows with their reason, or `fail` the batch"
    )
    max_rejected_share: float = Field(
        0.05,
        ge=0,
        le=1,
        description="a batch with a larger quarantined share fails (a broken feed)",
    )
    stale_after_days: int = Field(
        3, ge=0, description="trading days behind after which the data is called stale"
    )

    # --- training and promotion ---------------------------------------------------------
    test_days: int = Field(500, gt=0, description="newest trading days held out as the test set")
    gap_days: int = Field(
        1, ge=0, description="trading days dropped between train and test (and between CV folds)"
    )
    cv_folds: int = Field(5, ge=2, description="time-series cross-validation folds")
    tuning_budget: int = Field(20, gt=0, description="Optuna trials for the best family")
    tuning_timeout: float = Field(300.0, gt=0, description="seconds the tuning may take at most")
    promotion_margin: float = Field(
        0.0, description="PR-AUC lift over the champion a challenger needs"
    )
    promotion_policy: Literal["margin", "significant"] = Field(
        "significant",
        description="`significant`: the lift's 95 % interval must clear the margin; "
        "`margin`: the lift itself",
    )
    seed: int = Field(42, description="random seed of every model, split and tuning")
    pooled_candidate: bool = Field(
        True,
        description="the pooled model (one model on every pair's rows) joins each pair's"
        " candidates when the book has two pairs or more",
    )

    # --- monitoring and alerts ----------------------------------------------------------
    drift_window: int = Field(60, gt=1, description="newest feature rows compared with training")
    drift_alarm_rate: float = Field(
        0.10,
        gt=0,
        lt=1,
        description="share of the training rows' own past windows that would flag any"
        " feature: drift's stated false-alarm rate, from which each threshold is set",
    )
    retrain_on_decay: bool = Field(
        False, description="`true`: a decay or drift alert launches the training job"
    )
    retrain_min_days: int = Field(7, ge=0, description="days between two retrainings on decay")
    alert_webhook_url: SecretStr | None = Field(
        None, description="Slack-compatible incoming webhook for alerts (a secret)"
    )
    alert_email_to: str | None = Field(None, description="comma-separated alert recipients")
    smtp_host: str | None = Field(None, description="SMTP server for alert email")
    smtp_port: int = Field(587, description="its port (STARTTLS when offered)")
    smtp_user: str | None = Field(None, description="SMTP user, if it needs one")
    smtp_password: SecretStr | None = Field(None, description="SMTP password (a secret)")
    smtp_from: str = Field("fx-platform@localhost", description="the alerts' sender address")

    # --- evaluation ---------------------------------------------------------------------
    backtest_refit_days: int = Field(21, gt=0, description="trading days between backtest refits")
    backtest_min_train_days: int = Field(
        1000, gt=0, description="rows the first backtest model trains on"
    )
    backtest_cost_pips: float = Field(
        0.8,
        ge=0,
        description="cost per position change in the trading illustration, in pips of the"
        " pair (0.0001, or 0.01 for JPY quotes)",
    )

    # --- where steps run (docs/scale.md) ----------------------------------------------
    executor: Literal["in_process", "multiprocess", "celery", "k8s"] = Field(
        "in_process",
        description="where a run's steps execute: `in_process` (one process), `multiprocess` "
        "(a process per step on this machine), `celery` (dagster-celery workers on "
        "`FX_CELERY_BROKER_URL`), `k8s` (a Kubernetes Job per step, the Helm chart)",
    )
    celery_broker_url: SecretStr | None = Field(
        None,
        description="the workers' broker for `FX_EXECUTOR=celery`, e.g. "
        "`pyamqp://user:password@rabbitmq:5672//` (a secret: it holds a password)",
    )
    io_bucket: str | None = Field(
        None,
        description="S3/MinIO bucket for values one step hands the next (needed with "
        "`celery` and `k8s`: workers share no disk); unset: the Dagster instance's folder",
    )
    s3_endpoint_url: str | None = Field(
        None, description="that object store's URL when it is not AWS (MinIO: `http://minio:9000`)"
    )
    s3_access_key: str | None = Field(None, description="its access key id")
    s3_secret_key: SecretStr | None = Field(None, description="its secret key (a secret)")

    # --- consumers ----------------------------------------------------------------------
    model_service_url: str | None = Field(
        None, description="set: predictions go through the model service over HTTP"
    )
    api_token: SecretStr | None = Field(
        None,
        description="the model service's bearer token (at least 32 characters; required "
        "unless `FX_API_ANONYMOUS=true`); the predictions send it",
    )
    api_anonymous: bool = Field(
        False,
        description="`true`: the model service starts without `FX_API_TOKEN` and answers "
        "everyone (logged as a warning); without it, no token means no start",
    )
    metrics_token: SecretStr | None = Field(
        None, description="set: `/metrics` requires this bearer token; unset: open like `/health`"
    )
    champion_reload_seconds: float = Field(
        30.0, gt=0, description="how often the model service checks the `champion` alias"
    )
    dash_refresh_seconds: int = Field(
        60, ge=0, description="how often the open dashboard re-reads; `0` turns it off"
    )
    log_level: str | None = Field(
        None, description="`fx run` shows Dagster's log lines at this level (as `--verbose`)"
    )

    @field_validator("pairs")
    @classmethod
    def _known_pairs(cls, value: str) -> str:
        return ",".join(parse_book(value))

    @property
    def book(self) -> tuple[str, ...]:
        """The pairs of ``FX_PAIRS`` as codes, EUR/USD-style, in order."""
        return tuple(self.pairs.split(","))

    @field_validator("source")
    @classmethod
    def _known_source(cls, value: str) -> str:
        value = value.strip()
        if value in ("ecb", "ecb-live", "twelvedata") or value.startswith("csv:"):
            return value
        raise ValueError("use ecb, ecb-live, twelvedata or csv:PATH")

    @field_validator(
        "warehouse_url",
        "readonly_warehouse_url",
        "mlflow_tracking_uri",
        "model_service_url",
        "alert_email_to",
        "smtp_host",
        "log_level",
        "api_token",
        "metrics_token",
        "twelvedata_api_key",
        "smtp_user",
        "smtp_password",
        "alert_webhook_url",
        "start_date",
        "dagster_home",
        "dagster_pg_host",
        "mlflow_backend_store_uri",
        "mlflow_artifacts_destination",
        "mlflow_auth_admin_password",
        "mlflow_training_password",
        "mlflow_service_password",
        "mlflow_dashboard_password",
        "celery_broker_url",
        "io_bucket",
        "s3_endpoint_url",
        "s3_access_key",
        "s3_secret_key",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _defaults_under_home(self) -> Settings:
        # Filled here rather than as defaults because they follow FX_HOME; what the user
        # set is remembered first, for ``is_set``.
        self._given = frozenset(self.model_fields_set)
        home = self.home
        if self.warehouse_url is None:
            self.warehouse_url = sqlite_url(home / "warehouse.db")
        if self.mlflow_tracking_uri is None:
            self.mlflow_tracking_uri = sqlite_url(home / "mlflow.db")
        if self.dagster_home is None:
            self.dagster_home = home / "dagster"
        return self

    @property
    def mlflow_artifact_root(self) -> str:
        return (self.home / "mlartifacts").as_uri()

    def is_set(self, field: str) -> bool:
        """Whether the environment (or the caller) gave ``field`` a value."""
        return field in self._given

    @staticmethod
    def secret(value: SecretStr | None) -> str | None:
        return value.get_secret_value() if value is not None else None

    def secret_values(self) -> list[str]:
        """Every secret that is set: what a text shown to a person must never contain."""
        return [v.get_secret_value() for v in self.__dict__.values() if isinstance(v, SecretStr)]


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    info = Settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"FX_{field.upper()}"


def load_settings() -> Settings:
    """The settings from the environment now; a bad value is one line naming its variable."""
    try:
        return Settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err.get("loc") else ""
        name = env_name(field) if field in Settings.model_fields else field
        msg = str(err["msg"]).removeprefix("Value error, ")
        msg = msg[:1].lower() + msg[1:]
        # The value helps, except where it may be a secret.
        secret = field in Settings.model_fields and _is_secret(field)
        given = "" if secret or not isinstance(err.get("input"), str) else f"={err['input']!r}"
        raise ConfigError(f"{name}{given}: {msg}") from None


def _is_secret(field: str) -> bool:
    return "SecretStr" in str(Settings.model_fields[field].annotation)


_SQLITE = "sqlite:///"


def sqlite_url(path: Path, *, read_only: bool = False) -> str:
    """The SQLAlchemy URL of a SQLite file: the one place such a URL is spelled.

    ``read_only``: SQLite's URI form with ``mode=ro``, so the driver itself refuses writes.
    """
    if read_only:
        return f"{_SQLITE}file:{quote(str(path))}?mode=ro&uri=true"
    return f"{_SQLITE}{path}"


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (a warehouse or an MLflow store), else None."""
    if not url.startswith(_SQLITE):
        return None
    return Path(url.removeprefix(_SQLITE).split("?", 1)[0]).expanduser().resolve()


def _default(field: str) -> str:
    info = Settings.model_fields[field]
    if info.default_factory is not None:
        return "this machine's (see meaning)"
    if info.default is None:
        return "unset"
    if isinstance(info.default, bool):
        return f"`{str(info.default).lower()}`"
    return f"`{info.default}`"


def configuration_table() -> str:
    """The configuration table, one row per field of ``Settings``."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for field, info in Settings.model_fields.items():
        rows.append(f"| `{env_name(field)}` | {_default(field)} | {info.description} |")
    return "\n".join(rows)


CONFIGURATION_INTRO = """\
# Configuration

<!-- Generated from fx_assets/core/settings.py by
     `python -m fx_assets.core.settings > docs/configuration.md`; do not edit by hand. -->

Every variable the platform reads, declared once in one pydantic-settings class
(`fx_assets/core/settings.py`); all are optional. Secrets (`SecretStr`) never print, and
reach Dagster as `EnvVar`s, so the Dagster UI shows a variable's name and never its
value. An empty value means the default. A bad value stops with one line naming the
variable, e.g. `FX_SOURCE='yahoo': use ecb, ecb-live, twelvedata or csv:PATH`.

The training settings (`FX_TEST_DAYS`, `FX_GAP_DAYS`, `FX_CV_FOLDS`, `FX_TUNING_BUDGET`,
`FX_PROMOTION_MARGIN`...) are fields of the `training` resource, so a run launched from
the Dagster UI can override them in its config. The deployment's Dagster instance reads
`DAGSTER_PG_HOST`, `DAGSTER_PG_PORT`, `DAGSTER_PG_USER`, `DAGSTER_PG_PASSWORD` and
`DAGSTER_PG_DB` itself (the root `dagster.yaml`; see [deploy.md](deploy.md)).
"""


def configuration_doc() -> str:
    """``docs/configuration.md``: the page's introduction and the table of ``Settings``."""
    return f"{CONFIGURATION_INTRO}\n{configuration_table()}\n"


if __name__ == "__main__":
    print(configuration_doc(), end="")
