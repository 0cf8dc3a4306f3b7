"""Create and migrate the MLflow tracking store once, under a lock, before any use.

The race this prevents: MLflow creates a new SQL store's tables, then runs its alembic
migrations, in whichever process touches the store first. Two processes doing that at
once on a new SQLite file (a second ``fx run`` a second after the first; ``fx up``'s
services starting together) fail with ``table _alembic_tmp_experiments already exists``
or ``Online migration expected to match one row``, and can leave the file at a
half-applied revision that every later process then refuses. So every entry point that
may be first (``fx run``, ``fx up``, the model service, the dashboard) calls
``ensure_tracking_store`` before anything else opens the store: the first caller creates
and migrates it under an exclusive file lock, the others wait, then find it done.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from fx_assets.core.locking import exclusive
from fx_assets.core.redaction import redact_url
from fx_assets.core.settings import sqlite_path, sqlite_url

log = logging.getLogger(__name__)

# Creating the tables and running every migration takes a few seconds on a slow disk;
# waiting four times that long covers a loaded machine without hanging for ever.
DEFAULT_WAIT_SECONDS = 120.0
_READY: set[str] = set()


class TrackingStoreError(RuntimeError):
    """The store cannot be created or migrated; the one-line message says what to do."""


def _is_sql(uri: str) -> bool:
    return uri.split(":", 1)[0].split("+", 1)[0] in {"sqlite", "postgresql", "mysql", "mssql"}


def _open(uri: str, artifact_root: str | None) -> None:
    """Construct both SQL stores: each creates missing tables, migrates and verifies."""
    from mlflow.store.model_registry.sqlalchemy_store import (
        SqlAlchemyStore as RegistryStore,
    )
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    tracking = SqlAlchemyStore(uri, artifact_root or "./mlruns")
    registry = RegistryStore(uri)
    for store in (tracking, registry):
        store.engine.dispose()


def _forget_engine(uri: str) -> None:
    """MLflow caches one engine per URI; a failed open leaves pooled connections to the
    old file, which a rebuilt store must not reuse."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    engine = SqlAlchemyStore._engine_map.pop(uri, None)
    if engine is not None:
        engine.dispose()


def _drop_alembic_leftovers(uri: str) -> None:
    """alembic's ``_alembic_tmp_*`` tables exist only during a migration; under the lock,
    one that is still there was left by a crashed or raced process, and it would make
    the next migration fail with ``table _alembic_tmp_... already exists``."""
    engine = sa.create_engine(uri)
    try:
        with engine.begin() as conn:
            for name in sa.inspect(conn).get_table_names():
                if name.startswith("_alembic_tmp_"):
                    conn.execute(sa.text(f'DROP TABLE "{name}"'))
    finally:
        engine.dispose()


def _repair(uri: str) -> None:
    """Finish a migration a crashed or raced process left half done."""
    import mlflow.store.db.utils as db_utils

    _forget_engine(uri)
    _drop_alembic_leftovers(uri)
    engine = sa.create_engine(uri)
    try:
        db_utils._upgrade_db(engine)
    finally:
        engine.dispose()


def _holds_nothing(path: Path) -> bool:
    """True when a broken SQLite store has no run and no registered model to lose."""
    engine = sa.create_engine(sqlite_url(path))
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
            for table in ("runs", "registered_models"):
                if table in names and conn.execute(sa.text(f"SELECT 1 FROM {table}")).first():
                    return False
        return True
    except sa.exc.SQLAlchemyError:
        return False
    finally:
        engine.dispose()


def ensure_tracking_store(
    uri: str,
    artifact_root: str | None = None,
    *,
    lock_dir: Path | None = None,
    wait: float = DEFAULT_WAIT_SECONDS,
) -> None:
    """Create and migrate the SQL tracking store at ``uri`` if needed, once per process.

    SQLite is locked beside its file; another SQL database is locked under ``lock_dir``
    (FX_HOME) when given, which serializes processes on this machine (the deployment's
    ``mlflow server`` migrates its own database on start). HTTP tracking servers are left
    alone.
    """
    if uri in _READY or not _is_sql(uri):
        return
    path = sqlite_path(uri)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_path: Path | None = path.with_name(path.name + ".init.lock")
    else:
        lock_path = lock_dir / ".mlflow-init.lock" if lock_dir else None
    if lock_path is None:
        _open_or_repair(uri, artifact_root, path)
    else:
        with exclusive(lock_path, wait=wait, holder="another process creating the MLflow store"):
            _open_or_repair(uri, artifact_root, path)
    _READY.add(uri)


def _open_or_repair(uri: str, artifact_root: str | None, path: Path | None) -> None:
    try:
        _open(uri, artifact_root)
        _drop_alembic_leftovers(uri)
        return
    except Exception as first:  # any failure gets one repair attempt
        reason = str(first).strip().splitlines()[0][:200] if str(first).strip() else ""
    log.warning("MLflow store %s needs repair (%s); migrating it", redact_url(uri), reason)
    try:
        _repair(uri)
        _open(uri, artifact_root)
        return
    except Exception as second:
        reason = str(second).strip().splitlines()[0][:200] if str(second).strip() else reason
    if path is not None and path.exists() and _holds_nothing(path):
        # Broken while being created and empty: nothing to lose by starting it again. The
        # file is moved aside, not deleted, in case someone wants to look at it.
        aside = path.with_name(f"{path.name}.broken-{datetime.now(UTC):%Y%m%dT%H%M%S}")
        _forget_engine(uri)
        path.rename(aside)
        log.warning("MLflow store %s was broken and empty; moved to %s", path, aside.name)
        _open(uri, artifact_root)
        return
    raise TrackingStoreError(
        f"MLflow store {redact_url(uri)} cannot be migrated ({reason}); back it up and run "
        "`mlflow db upgrade <uri>`, or point MLFLOW_TRACKING_URI at a new store"
    )
