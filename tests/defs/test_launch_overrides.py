"""Run config cannot redirect a setting that receives a credential.

A real ``dagster-webserver`` on a temporary DAGSTER_HOME, runs launched through its
GraphQL API as the launchpad does, and a local TCP listener standing in for an
attacker's host: a run whose config points ``market_data`` at the listener is refused
in one line and the listener never sees a connection.
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

import httpx
import pytest

from fx_assets.core.ingestion.sources import SourceError
from fx_assets.core.ingestion.twelvedata import TwelveDataSource
from tests.champions import FX_VARS, free_port, stop_process
from tests.dagster_api import Dagster

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
