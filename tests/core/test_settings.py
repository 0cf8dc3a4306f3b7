"""One Settings class: defaults, and one-line errors without secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from fx_assets.core.settings import ConfigError, Settings, load_settings


def test_defaults_follow_fx_home(fx_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME")
    s = load_settings()
    assert s.home == fx_home
    assert s.warehouse_url == f"sqlite:///{fx_home / 'warehouse.db'}"
    assert s.mlflow_tracking_uri == f"sqlite:///{fx_home / 'mlflow.db'}"
    assert s.dagster_home == fx_home / "dagster"
    assert not s.is_set("warehouse_url")


def test_a_bad_value_is_one_line_naming_the_variable(
    fx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FX_SOURCE", "yahoo")
    with pytest.raises(ConfigError, match=r"^FX_SOURCE='yahoo': use ecb, ecb-live"):
        load_settings()


def test_a_bad_secret_is_named_but_never_printed(
    fx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FX_API_TOKEN", "s3cret-token")
    settings = load_settings()
    assert "s3cret-token" not in repr(settings) and "s3cret-token" not in str(settings)
    assert settings.secret(settings.api_token) == "s3cret-token"


def test_empty_variables_mean_unset(fx_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FX_WAREHOUSE_URL", "")
    monkeypatch.setenv("FX_API_TOKEN", "")
    monkeypatch.setenv("FX_GAP_DAYS", "")  # docker-compose.yml's `${FX_GAP_DAYS:-}`
    s = load_settings()
    assert s.api_token is None and s.warehouse_url.startswith("sqlite:///")
    assert s.gap_days == Settings.model_fields["gap_days"].default


def test_sqlite_urls_are_spelled_in_one_place(tmp_path: Path) -> None:
    from fx_assets.core.settings import sqlite_path, sqlite_url
    from fx_assets.core.warehouse import create_warehouse_engine

    path = tmp_path / "a dir" / "w.db"
    assert sqlite_path(sqlite_url(path)) == path
    # The read-only form is SQLite's URI: the driver itself refuses to write.
    engine = create_warehouse_engine(sqlite_url(path))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    engine.dispose()
    read_only = create_warehouse_engine(sqlite_url(path), read_only=True)
    with pytest.raises(Exception, match="readonly"), read_only.begin() as conn:
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    read_only.dispose()


def test_every_secret_that_is_set_is_listed_for_redaction(
    fx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FX_API_TOKEN", "tok-1234")
    monkeypatch.setenv("FX_METRICS_TOKEN", "met-5678")
    monkeypatch.setenv("TWELVEDATA_API_KEY", "key-9abc")
    assert sorted(load_settings().secret_values()) == ["key-9abc", "met-5678", "tok-1234"]
