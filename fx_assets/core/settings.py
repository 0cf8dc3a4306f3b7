"""Settings read from the environment at call time (never at import time)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ECB_FIRST_DATE = date(1999, 1, 4)


class ConfigError(ValueError):
    """A setting a user gave is unusable; the message says which and what to do."""


@dataclass(frozen=True)
class Settings:
    home: Path
    warehouse_url: str
    mlflow_tracking_uri: str
    mlflow_artifact_root: str
    source: str
    start_date: date | None
    dagster_home: Path
    model_service_url: str | None
    api_token: str | None


def _parse_date(name: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"{name}={value!r} is not a date; use YYYY-MM-DD") from None


def fx_home() -> Path:
    return Path(os.environ.get("FX_HOME") or ".fx").expanduser().resolve()


def load_settings() -> Settings:
    home = fx_home()
    start = os.environ.get("FX_START_DATE")
    return Settings(
        home=home,
        warehouse_url=os.environ.get("FX_WAREHOUSE_URL") or f"sqlite:///{home / 'warehouse.db'}",
        mlflow_tracking_uri=os.environ.get("MLFLOW_TRACKING_URI")
        or f"sqlite:///{home / 'mlflow.db'}",
        mlflow_artifact_root=(home / "mlartifacts").as_uri(),
        source=os.environ.get("FX_SOURCE") or "ecb",
        start_date=_parse_date("FX_START_DATE", start) if start else None,
        dagster_home=Path(os.environ.get("DAGSTER_HOME") or home / "dagster"),
        model_service_url=os.environ.get("FX_MODEL_SERVICE_URL") or None,
        api_token=os.environ.get("FX_API_TOKEN") or None,
    )


def redact_url(url: str) -> str:
    """A database URL fit for logs and metadata: the password replaced by ***."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable url>"
