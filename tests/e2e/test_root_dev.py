"""The root starts: in a fresh clone with an empty environment, `dg check defs` passes and
`dagster dev` serves the code location, on the embedded SQLite instance under FX_HOME.

The clone is `git clone` of this checkout's HEAD; the environment holds PATH, HOME and
PYTHONPATH (the clone) and nothing else: no DAGSTER_HOME, no DAGSTER_PG_*, no FX_*. The
server is stopped as a terminal does it, Ctrl-C to its process group.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.fullstack import ROOT, descendants, free_port, kill_pids

pytestmark = [pytest.mark.fullstack, pytest.mark.timeout(240)]

LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries {
    name loadStatus locationOrLoadError { __typename } } } } }"""


def _default_signals() -> None:
    # A terminal's Ctrl-C must reach the server even when the test runner was started
    # with SIGINT ignored (a background job): the child gets the default dispositions.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    target = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(target)], check=True)
    return target


def _empty_env(clone: Path, home: Path) -> dict[str, str]:
    home.mkdir(exist_ok=True)
    bin_dir = str(Path(sys.executable).parent)
    return {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": str(clone)}


def _loaded(port: int) -> bool:
    try:
        resp = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": LOCATIONS}, timeout=5)
        entries = resp.json()["data"]["workspaceOrError"]["locationEntries"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return False
    return any(
        e["name"] == "fx_assets"
        and e["loadStatus"] == "LOADED"
        and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
        for e in entries
    )


def test_a_fresh_clone_checks_and_serves_its_definitions_on_sqlite_under_fx_home(
    clone: Path, tmp_path: Path
) -> None:
    env = _empty_env(clone, tmp_path / "home")
    bin_dir = Path(sys.executable).parent
    check = subprocess.run(
        [str(bin_dir / "dg"), "check", "defs"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stdout[-3000:] + check.stderr[-3000:]
    assert "All definitions loaded successfully" in check.stdout
    assert "DAGSTER_PG" not in check.stdout + check.stderr

    port = free_port()
    log = (tmp_path / "dev.log").open("wb")
    dev = subprocess.Popen(
        [str(bin_dir / "dagster"), "dev", "--host", "127.0.0.1", "--port", str(port)],
        cwd=clone,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_default_signals,
    )
    log.close()
    seen: dict[int, int] = {}
    try:
        deadline = time.monotonic() + 150
        while not _loaded(port):
            seen.update(descendants(dev.pid))
            assert dev.poll() is None, (tmp_path / "dev.log").read_text()[-3000:]
            assert time.monotonic() < deadline, (tmp_path / "dev.log").read_text()[-3000:]
            time.sleep(1)
        seen.update(descendants(dev.pid))
    finally:
        os.killpg(dev.pid, signal.SIGINT)
        try:
            dev.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGTERM)
            dev.wait(20)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and [p for p in seen if Path(f"/proc/{p}").exists()]:
            time.sleep(0.5)
        leftovers = kill_pids(seen)
    assert dev.returncode is not None and not leftovers, leftovers

    # The instance was the embedded SQLite one under FX_HOME's default, `.fx/dagster`,
    # where `fx run` writes its runs too; nothing asked for PostgreSQL.
    instance = clone / ".fx" / "dagster"
    assert (instance / "history" / "runs.db").is_file()
    assert (instance / "schedules" / "schedules.db").is_file()
    text = (tmp_path / "dev.log").read_text()
    assert "DAGSTER_PG" not in text, text[-3000:]
