"""Run config cannot redirect a setting that receives a credential.

A real ``dagster-webserver`` on a temporary DAGSTER_HOME, runs launched through its
GraphQL API as the launchpad does, and a local TCP listener standing in for an
attacker's host: a run whose config points ``market_data`` at the listener is refused
in one line and the listener never sees a connection. In process, each locked field of
the predictions' resources and the ``mlflow`` parent run refuse run config the same way.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from dagster import DagsterInstance, asset, materialize

from fx_assets.core.ingestion.sources import SourceError
from fx_assets.core.ingestion.twelvedata import TwelveDataSource
from fx_assets.defs.inference.assets import fx_predictions
from fx_assets.defs.resources import (
    MlflowResource,
    ModelServiceResource,
    WarehouseResource,
    mlflow_parent_run,
)
from tests.support.champions import FX_VARS, free_port, stop_process
from tests.support.code_location import register_pairs
from tests.support.dagster_api import Dagster

KEY = "twelvedata-key-that-must-stay-home"
LOCATION = "fx_assets.definitions"


class Listener:
    """A TCP port that counts the connections it accepts (and closes them)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


@pytest.fixture(scope="module")
def dagster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dagster]:
    """``dagster-webserver -m fx_assets.definitions``, runs launched in its own process."""
    root = tmp_path_factory.mktemp("launch")
    home = root / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        "run_coordinator:\n  module: dagster._core.run_coordinator\n"
        "  class: DefaultRunCoordinator\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in FX_VARS}
    env |= {
        "DAGSTER_HOME": str(home),
        "FX_HOME": str(root / "fxhome"),
        "TWELVEDATA_API_KEY": KEY,
        # Only the lock may stop the override below, not the https rule for keyed sources.
        "FX_ALLOW_HTTP_SOURCES": "true",
    }
    port = free_port()
    command = [sys.executable, "-m", "dagster_webserver", "-m", LOCATION]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    log = root / "webserver.log"
    with log.open("wb") as out:
        # A session of its own: the code server it spawns is stopped with it.
        proc = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        api = Dagster(url, location=LOCATION)
        api.wait_loaded()
        yield api
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        stop_process(proc)


def test_the_listener_counts_what_the_client_sends(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control: the same client with the same URL does reach the listener."""
    monkeypatch.setenv("FX_ALLOW_HTTP_SOURCES", "true")
    with pytest.raises(SourceError):
        TwelveDataSource(KEY, base_url=listener.url).fetch(date(2024, 1, 2), date(2024, 1, 5))
    assert listener.connections > 0


def test_a_launch_overriding_the_market_data_url_is_refused(
    dagster: Dagster, listener: Listener
) -> None:
    override = {"source": "twelvedata", "twelvedata_base_url": listener.url}
    run_id = dagster.launch(
        "etl_job",
        {"dagster/partition": "2024"},
        {"resources": {"market_data": {"config": override}}},
    )
    run = dagster.wait(run_id, timeout=300)
    assert run["status"] == "FAILURE"
    errors = dagster.errors(run_id)
    assert (
        "run refused: run config may not set 'source' of this resource; it receives a"
        " credential, so it comes only from FX_SOURCE in the deployment's environment"
    ) in errors
    assert KEY not in errors
    time.sleep(1)
    assert listener.connections == 0


def _init_errors(result) -> list[str]:  # type: ignore[no-untyped-def]
    """The messages of a failed resource initialisation, causes included."""
    init = next(e for e in result.all_events if e.event_type_value == "RESOURCE_INIT_FAILURE")
    errors, error = [], init.event_specific_data.error
    while error is not None:
        errors.append(error.message)
        error = error.cause
    return errors


@pytest.mark.parametrize(
    ("key", "field"),
    [("warehouse", "url"), ("tracking_store", "tracking_uri"), ("model_service", "url")],
)
def test_every_locked_field_refuses_run_config(
    fx_home: Path, listener: Listener, key: str, field: str
) -> None:
    """In process too: the predictions' three resources each refuse a redirect."""
    url = f"sqlite:///{fx_home / 'warehouse.db'}"
    instance = DagsterInstance.ephemeral()
    register_pairs(instance)
    result = materialize(
        [fx_predictions],
        resources={
            "warehouse": WarehouseResource(url=url),
            "tracking_store": MlflowResource(tracking_uri=f"sqlite:///{fx_home / 'mlflow.db'}"),
            "model_service": ModelServiceResource(),
        },
        run_config={"resources": {key: {"config": {field: listener.url}}}},
        instance=instance,
        partition_key="EURUSD",
        raise_on_error=False,
    )
    assert not result.success
    errors = _init_errors(result)
    assert any(f"run refused: run config may not set {field!r}" in m for m in errors), errors
    assert listener.connections == 0


def test_the_mlflow_parent_run_refuses_run_config(fx_home: Path, listener: Listener) -> None:
    @asset(required_resource_keys={"mlflow"})
    def probe() -> None:
        """Needs the parent run, nothing else."""

    result = materialize(
        [probe],
        resources={"mlflow": mlflow_parent_run(f"sqlite:///{fx_home / 'mlflow.db'}")},
        run_config={"resources": {"mlflow": {"config": {"mlflow_tracking_uri": listener.url}}}},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert not result.success
    errors = _init_errors(result)
    assert any("may not set 'mlflow_tracking_uri'" in m for m in errors), errors
    assert listener.connections == 0
