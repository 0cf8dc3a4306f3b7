"""The MLflow store is created and migrated once, under a lock: several real processes
touching a new SQLite store at the same moment all succeed, and a half-migrated store is
repaired rather than left broken."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fx_assets.core.models.store import TrackingStoreError, ensure_tracking_store

FIRST_USE = """
import sys, time
uri, start, name = sys.argv[1], float(sys.argv[2]), sys.argv[3]
import mlflow
from fx_assets.core.models.store import ensure_tracking_store
while time.time() < start:
    time.sleep(0.002)
ensure_tracking_store(uri)
client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
client.create_experiment(name)
client.create_registered_model(f"model_{name}")
print("ok", flush=True)
"""


def head_revision() -> str:
    from mlflow.store.db.utils import _get_latest_schema_revision

    return _get_latest_schema_revision()


def revision(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_processes_first_touching_a_new_store_together_all_succeed(tmp_path: Path) -> None:
    db = tmp_path / "home" / "mlflow.db"
    uri = f"sqlite:///{db}"
    # Start together, after every interpreter has imported mlflow (a few seconds).
    start = time.time() + 8
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_USE, uri, str(start), f"exp{i}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    results = [p.communicate(timeout=180) for p in procs]

    for proc, (out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0 and out.strip() == "ok", err[-2000:]
    assert revision(db) == head_revision()
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    names = {e.name for e in client.search_experiments()}
    assert {"exp0", "exp1", "exp2", "exp3"} <= names
    assert len(client.search_registered_models()) == 4


def test_a_half_migrated_store_is_repaired(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    ensure_tracking_store(uri)
    # What a raced migration leaves: alembic's temporary table, an older recorded revision.
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE _alembic_tmp_experiments (x INTEGER)")
    from fx_assets.core.models import store

    store._READY.discard(uri)

    ensure_tracking_store(uri)

    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert not any(n.startswith("_alembic_tmp_") for n in names)
    assert revision(db) == head_revision()


def test_a_store_broken_while_empty_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    ensure_tracking_store(uri)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'no-such-revision'")
    from fx_assets.core.models import store

    store._READY.discard(uri)

    ensure_tracking_store(uri)

    assert revision(db) == head_revision()
    assert len(list(tmp_path.glob("mlflow.db.broken-*"))) == 1


def test_a_broken_store_with_runs_is_never_replaced(tmp_path: Path) -> None:
    import mlflow

    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    ensure_tracking_store(uri)
    client = mlflow.MlflowClient(tracking_uri=uri)
    client.create_run(client.create_experiment("kept"))
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'no-such-revision'")
    from fx_assets.core.models import store

    store._READY.discard(uri)

    with pytest.raises(TrackingStoreError) as excinfo:
        ensure_tracking_store(uri)

    message = str(excinfo.value)
    assert "\n" not in message and "mlflow db upgrade" in message
    assert not list(tmp_path.glob("mlflow.db.broken-*"))


def test_http_tracking_servers_are_left_alone(tmp_path: Path) -> None:
    ensure_tracking_store("http://127.0.0.1:9/")
    assert not list(tmp_path.iterdir())
