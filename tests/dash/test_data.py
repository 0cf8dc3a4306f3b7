"""The dashboard's data layer on real stores: read-only warehouse snapshots (SQLite and
PostgreSQL), the MLflow model panel, and every empty or broken state as a message."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import mlflow
import pandas as pd
import pytest
import sqlalchemy as sa

from fx_assets.core.contracts import FINAL, PREDICTIONS, RAW
from fx_assets.core.domain import FEATURES
from fx_assets.core.models import registry
from fx_assets.core.readmodel.registry import ModelHistory, RegistryReader, model_history
from fx_assets.core.warehouse import Warehouse
from fx_dash.reader import load_snapshot
from tests.support.champions import mlflow_db_template  # noqa: F401  (session fixture)
from tests.support.frames import digest, predictions_frame, raw_bars


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fill(url: str, days: int = 300) -> pd.DatetimeIndex:
    """Raw bars, final rows and 30 predictions (the newest unresolved) through the writer."""
    dates = pd.bdate_range("2023-01-02", periods=days)
    wh = Warehouse(url).for_pair("EURUSD")
    raw = raw_bars(dates)
    final = pd.DataFrame({"date": dates, **{f: 0.0 for f in FEATURES}})
    final["target"] = pd.array([i % 2 for i in range(days - 1)] + [None], "Int64")
    wh.replace_all(RAW, raw)
    wh.replace_all(FINAL, final)
    wh.replace_all(PREDICTIONS, predictions_frame([1] * 30, start=str(dates[-30].date())))
    wh.warehouse.dispose()
    return dates


def test_snapshot_reads_window_and_outcomes(warehouse_url: str) -> None:
    dates = fill(warehouse_url)
    snap = load_snapshot(warehouse_url, "1M")
    assert snap.message is None
    assert snap.prices["date"].min() >= dates[-1] - pd.DateOffset(months=1)
    assert snap.prices["date"].max() == dates[-1]
    assert len(load_snapshot(warehouse_url, "All").prices) == len(dates)
    assert len(snap.predictions) == 30
    assert snap.predictions["actual"].isna().sum() == 1
    assert snap.newest_final == dates[-1].date()


def test_the_dashboard_connection_cannot_write(warehouse_url: str) -> None:
    fill(warehouse_url)
    reader = Warehouse(warehouse_url, read_only=True)
    with pytest.raises(PermissionError):
        reader.replace_all(PREDICTIONS, pd.DataFrame())
    # Below the warehouse's own refusal, the connection itself cannot write.
    with pytest.raises(sa.exc.DBAPIError), reader.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM eur_usd_predictions"))
    reader.dispose()
    assert Warehouse(warehouse_url, create=False).count(PREDICTIONS) == 30


def test_reading_leaves_the_sqlite_file_untouched(fx_home: Path) -> None:
    url = f"sqlite:///{fx_home / 'warehouse.db'}"
    fill(url)
    before = digest(fx_home / "warehouse.db")
    assert load_snapshot(url, "All").message is None
    assert digest(fx_home / "warehouse.db") == before


def test_missing_warehouse_is_no_data_yet_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nothing" / "warehouse.db"
    snap = load_snapshot(f"sqlite:///{path}")
    assert snap.message is not None and snap.message.startswith("No data yet")
    assert "fx run" in snap.message and not snap.problem
    assert not path.exists() and not path.parent.exists()


def test_warehouse_without_tables_or_rows_is_no_data_yet(tmp_path: Path) -> None:
    bare = tmp_path / "bare.db"
    sqlite3.connect(bare).close()
    snap = load_snapshot(f"sqlite:///{bare}")
    assert snap.message == (
        "No data yet: the warehouse has no fx_raw, fx_final. Run `fx run` to fill it."
    )
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    Warehouse(empty).dispose()
    assert load_snapshot(empty).message == (
        "No data yet: fx_raw has no EUR/USD bars. Run `fx run` to fill it."
    )


def test_unreachable_warehouse_is_one_line_without_the_password() -> None:
    url = f"postgresql://fx:s3cret-pw@127.0.0.1:{closed_port()}/fx"
    snap = load_snapshot(url)
    assert snap.problem and snap.message is not None
    assert snap.message.startswith("Warehouse unreachable (postgresql://fx:***@127.0.0.1:")
    assert "s3cret-pw" not in snap.message
    assert "\n" not in snap.message and "Traceback" not in snap.message


def _registry(path: Path, template: Path) -> str:
    path.write_bytes(template.read_bytes())
    return f"sqlite:///{path}"


def _add_version(client: mlflow.MlflowClient, tags: dict[str, str]) -> str:
    mv = client.create_model_version(registry.MODEL_NAME, source="file:///nowhere/model")
    for key, value in tags.items():
        client.set_model_version_tag(registry.MODEL_NAME, mv.version, key, value)
    return str(mv.version)


def load_model_panel(uri: str) -> ModelHistory:
    return model_history(RegistryReader(uri))


def test_model_panel_states_on_a_real_registry(tmp_path: Path, mlflow_db_template: Path) -> None:  # noqa: F811
    missing = tmp_path / "none" / "mlflow.db"
    assert load_model_panel(f"sqlite:///{missing}").message.startswith("No model registry yet")
    assert not missing.exists()

    uri = _registry(tmp_path / "mlflow.db", mlflow_db_template)
    assert load_model_panel(uri).message.startswith("No model registered as eur_usd_direction")

    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.create_registered_model(registry.MODEL_NAME)
    old = _add_version(client, {registry.TAG_LIFECYCLE: "archived"})
    panel = load_model_panel(uri)
    assert panel.message.startswith("No champion yet") and panel.champion is None
    assert [v.version for v in panel.versions] == [old]

    champ = _add_version(
        client,
        {
            registry.TAG_LIFECYCLE: "champion",
            registry.TAG_TRAINING_CUTOFF: "2024-06-28",
            registry.TAG_TEST_PR_AUC: "0.54",
            registry.TAG_BASELINE_PR_AUC: "0.49",
            registry.TAG_PROMOTED_AT: "2024-07-07T03:00:00+00:00",
        },
    )
    client.set_registered_model_alias(registry.MODEL_NAME, registry.CHAMPION, champ)
    challenger = _add_version(client, {registry.TAG_LIFECYCLE: "rejected"})
    client.set_registered_model_alias(registry.MODEL_NAME, registry.CHALLENGER, challenger)
    before = digest(tmp_path / "mlflow.db")

    panel = load_model_panel(uri)
    assert panel.message is None and not panel.problem
    assert panel.champion is not None and panel.champion.version == champ
    assert panel.champion.tags[registry.TAG_TRAINING_CUTOFF] == "2024-06-28"
    assert panel.champion.number(registry.TAG_BASELINE_PR_AUC) == pytest.approx(0.49)
    assert panel.challenger is not None and panel.challenger.version == challenger
    assert [(v.version, v.lifecycle) for v in panel.versions] == [
        (challenger, "rejected"),
        (champ, "champion"),
        (old, "archived"),
    ]
    assert digest(tmp_path / "mlflow.db") == before


def test_unreachable_tracking_server_is_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    panel = load_model_panel(f"http://user:pw-secret@127.0.0.1:{closed_port()}")
    assert panel.problem and panel.message is not None
    assert panel.message.startswith("Model registry unreachable (http://user:***@127.0.0.1:")
    assert "pw-secret" not in panel.message and "\n" not in panel.message


def test_static_files_are_compressed_once_and_dynamic_responses_never_cached() -> None:
    import gzip

    from flask_compress import Compress

    from fx_dash.compression import compressing_server

    server = compressing_server("compression-test")
    Compress(server)
    calls = {"static": 0, "dynamic": 0}

    @server.route("/_dash-component-suites/bundle.js")
    def bundle() -> tuple[str, int, dict[str, str]]:
        calls["static"] += 1
        return f"var x = {calls['static']};\n" * 5000, 200, {"Content-Type": "text/javascript"}

    @server.route("/_dash-layout")
    def layout() -> tuple[str, int, dict[str, str]]:
        calls["dynamic"] += 1
        body = f'{{"n": {calls["dynamic"]}}}' + " " * 1000
        return body, 200, {"Content-Type": "text/html"}

    client = server.test_client()
    gz = {"Accept-Encoding": "gzip"}
    first, second = (client.get("/_dash-component-suites/bundle.js", headers=gz) for _ in range(2))
    assert first.headers["Content-Encoding"] == "gzip"
    # The second answer is the first one's compressed body, served from the cache.
    assert gzip.decompress(second.data) == b"var x = 1;\n" * 5000
    bodies = [gzip.decompress(client.get("/_dash-layout", headers=gz).data) for _ in range(2)]
    assert bodies[0].startswith(b'{"n": 1}') and bodies[1].startswith(b'{"n": 2}')
