"""Shared fixtures: an isolated FX_HOME per test, and real warehouses (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from fx_assets.core.settings import Settings, env_name

# The processes the tests stop with a signal (`dagster dev`, the containers' services) get
# this process's ignored signals. A shell without job control starts a background command
# (`.ci/run &`, `nohup ... &`) with SIGINT ignored, and Dagster's servers take SIGTERM's
# disposition from SIGINT's: `dagster code-server` then ignores the SIGTERM of `docker
# stop`. With a handler here, every process started below gets the default, as Docker,
# Kubernetes and a terminal give theirs.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# Every variable the platform reads: a test starts with none of them set.
FX_VARS = tuple(env_name(field) for field in Settings.model_fields)


@pytest.fixture
def fx_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh FX_HOME, a book of one pair (EUR/USD: most tests follow one pair's
    lifecycle; a test of the book sets FX_PAIRS), every other setting at its default."""
    for var in FX_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("FX_PAIRS", "EURUSD")
    home = tmp_path / "fxhome"
    home.mkdir()
    monkeypatch.setenv("FX_HOME", str(home))
    dagster_home = home / "dagster"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    return home


@pytest.fixture
def local_http_sources(fx_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """FX_ALLOW_HTTP_SOURCES=true on top of ``fx_home``: pytest-httpserver serves plain
    http:// on loopback, which a keyed source refuses otherwise."""
    monkeypatch.setenv("FX_ALLOW_HTTP_SOURCES", "true")


def _postgres_server_url() -> str | None:
    url = os.environ.get("FX_TEST_POSTGRES_URL")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail("FX_TEST_POSTGRES_URL is not set; CI must test on PostgreSQL")
        pytest.skip("FX_TEST_POSTGRES_URL not set")
    return url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the FX_TEST_POSTGRES_URL server, dropped after."""
    server = _postgres_server_url()
    assert server is not None
    admin_url = make_url(server).set(drivername="postgresql+psycopg")
    name = f"fx_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at FX_TEST_POSTGRES_URL is unreachable: {exc.orig}")
        pytest.skip("PostgreSQL unreachable")
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        from fx_assets.core.warehouse import _CACHE

        for key in [k for k in _CACHE if name in k[0]]:
            _CACHE.pop(key).dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(
    request: pytest.FixtureRequest, fx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """The warehouse URL under test, exported as FX_WAREHOUSE_URL: SQLite and PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{fx_home / 'warehouse.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    monkeypatch.setenv("FX_WAREHOUSE_URL", url)
    return url


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Each test (and the module fixtures its setup builds) starts with no Dagster instance
    installed for loading definitions.

    Evaluating a sensor or schedule on an instance (``build_sensor_context(instance=...)``)
    leaves that instance's definitions-state storage in a context variable; once the
    instance is disposed, loading the code location anywhere after it fails with
    "Attempted to resolve undefined DagsterInstance weakref". Dagster has no public reset,
    so the variable is cleared here (tests only; the code location never touches it).
    """
    from dagster._core.storage.defs_state.base import _current_storage

    _current_storage.set(None)
