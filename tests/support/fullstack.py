"""Helpers of the full-stack tests: processes tracked by pid, a headless browser, and the
local PostgreSQL server (databases from deploy/postgres/init.sql, stop and start)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from tests.support import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- processes -------------------------------------------------------------------------
def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time) of a live process, from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[1]), int(fields[19])


def descendants(root: int) -> dict[int, int]:
    """Every live process under ``root``: pid -> start time."""
    parents: dict[int, list[int]] = {}
    starts: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                parents.setdefault(st[0], []).append(int(entry))
                starts[int(entry)] = st[1]
    found: dict[int, int] = {}
    todo = [root]
    while todo:
        for child in parents.get(todo.pop(), []):
            if child not in found and child in starts:
                found[child] = starts[child]
                todo.append(child)
    return found


@dataclass
class Tracked:
    """A process started by a test, and every process it spawns, remembered by pid.

    A watcher records descendants as they appear (run workers come and go), so that
    ``stop`` can kill, by pid, whatever outlived the polite shutdown.
    """

    popen: subprocess.Popen[bytes]
    log: Path
    seen: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, cmd: list[str], env: dict[str, str], log: Path, cwd: Path = ROOT) -> Tracked:
        out = log.open("wb")
        popen = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        tracked = cls(popen, log)
        st = _stat(popen.pid)
        if st is not None:
            tracked.seen[popen.pid] = st[1]
        threading.Thread(target=tracked._watch, daemon=True).start()
        return tracked

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            self.seen.update(descendants(self.popen.pid))

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def wait_for_line(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return
            if self.popen.poll() is not None:
                raise AssertionError(f"process exited ({self.popen.returncode}):\n{self.tail()}")
            time.sleep(0.5)
        raise AssertionError(f"no {needle!r} after {timeout:.0f} s:\n{self.tail()}")

    def alive(self) -> list[int]:
        """Tracked pids still running (same pid and start time: not a reused pid)."""
        return [pid for pid, start in self.seen.items() if (_stat(pid) or (0, -1))[1] == start]

    def stop(self, sig: int = signal.SIGINT, grace: float = 30.0) -> list[int]:
        """Signal the root (Ctrl-C by default); kill leftovers by pid. Returns the leftovers."""
        self.seen.update(descendants(self.popen.pid))
        self._stop.set()
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(grace)
        deadline = time.monotonic() + 10
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        leftovers = kill_pids({pid: self.seen[pid] for pid in self.alive()})
        if self.popen.poll() is None:
            self.popen.wait(10)
        return leftovers


# --- fx up ---------------------------------------------------------------------------
def start_fx_up(
    env: dict[str, str], log: Path, services: tuple[str, ...] = ()
) -> tuple[Tracked, dict[str, int]]:
    """``fx up`` (or some of its ``services``) on free ports; the caller's FX_/DAGSTER_/
    MLFLOW_/TWELVEDATA_ variables are dropped so that ``env`` alone configures it (with a
    book of one pair, EUR/USD, unless ``env`` names FX_PAIRS). Returns the process and its
    ports."""
    ports = {k: free_port() for k in ("dagster", "mlflow", "api", "dash", "code")}
    full_env = (
        {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("FX_", "DAGSTER_", "MLFLOW_", "TWELVEDATA_"))
        }
        | {"FX_PAIRS": "EURUSD"}
        | env
    )
    cmd = [sys.executable, "-m", "fx_assets.cli.main", "up", *services]
    cmd += [f"--{k}-port={v}" for k, v in ports.items()]
    return Tracked.start(cmd, full_env, log), ports


def wait_fx_up_ready(up: Tracked) -> None:
    """Until ``fx up`` says every service answers; fails on a service that never does."""
    up.wait_for_line("services ready", timeout=300)
    assert "fx up: all 4 services ready" in up.text(), up.tail()


def kill_pids(pids: dict[int, int]) -> list[int]:
    """SIGKILL those of ``pids`` (pid -> start time) still running; the ones it killed."""
    killed = []
    for pid, start in pids.items():
        st = _stat(pid)
        if st is not None and (start == 0 or st[1] == start):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
    return killed


# --- browser ---------------------------------------------------------------------------
def page_text(url: str, tmp: Path, needles: list[str], timeout: float = 60) -> str:
    """A page's visible text in headless Chromium, once it holds every needle; the browser's
    processes are killed by pid if they outlive ``quit``."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp / 'chromium'}",
    ):
        options.add_argument(flag)
    service = Service("/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    browser = {service.process.pid: 0, **descendants(service.process.pid)}
    try:
        driver.get(url)
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = driver.find_element(By.TAG_NAME, "body").text
            if all(n in text for n in needles):
                return text
            time.sleep(1)
        raise AssertionError(f"{url} never showed {needles}:\n{text}")
    finally:
        browser.update(descendants(service.process.pid))
        driver.quit()
        kill_pids(browser)


# --- PostgreSQL ------------------------------------------------------------------------
@dataclass
class StackDatabases:
    """The deployment's databases and roles, made by deploy/postgres/init.sql with a prefix."""

    server: URL
    prefix: str

    def name(self, what: str) -> str:
        return f"{self.prefix}_{what}"

    def url(self, db: str, user: str) -> str:
        url = self.server.set(drivername="postgresql", database=self.name(db))
        return url.set(username=self.name(user), password=None).render_as_string(False)

    def admin_url(self, db: str = "postgres") -> str:
        return self.server.set(drivername="postgresql", database=db).render_as_string(False)

    def psql(self, *args: str, db: str = "postgres") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["psql", "--no-psqlrc", "-X", "-q", self.admin_url(db), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    @classmethod
    def create(
        cls, server_url: str, prefix: str = "fxfs", passwords: dict[str, str] | None = None
    ) -> StackDatabases:
        dbs = cls(make_url(server_url), f"{prefix}_{uuid.uuid4().hex[:10]}")
        names = {
            "warehouse_db": "warehouse",
            "warehouse_user": "warehouse_role",
            "dagster_db": "dagster",
            "dagster_user": "dagster_role",
            "mlflow_db": "mlflow",
            "mlflow_user": "mlflow_role",
            "reader_user": "reader_role",
        }
        args = [f"--set={k}={dbs.name(v)}" for k, v in names.items()]
        # Local trust authentication: the passwords are set but never checked.
        secret = passwords or {}
        for who in ("warehouse", "dagster", "mlflow", "reader"):
            args.append(f"--set={who}_password={secret.get(who) or uuid.uuid4().hex}")
        dbs.psql(*args, "-f", str(ROOT / "deploy" / "postgres" / "init.sql"))
        return dbs

    def drop(self) -> None:
        for db in ("warehouse", "dagster", "mlflow", "mlflow_auth"):
            self.psql("-c", f'DROP DATABASE IF EXISTS "{self.name(db)}" WITH (FORCE)')
        for role in ("warehouse_role", "dagster_role", "mlflow_role", "reader_role"):
            self.psql("-c", f'DROP ROLE IF EXISTS "{self.name(role)}"')


def pg_cluster() -> str | None:
    """The version of the local Debian PostgreSQL cluster `main`, if there is one."""
    with contextlib.suppress(OSError):
        versions = sorted(os.listdir("/etc/postgresql"))
        if versions and (Path("/etc/postgresql") / versions[0] / "main").is_dir():
            return versions[0]
    return None


def pg_ctl(action: str) -> None:
    version = pg_cluster()
    assert version is not None
    # `stop` is a fast shutdown: open transactions are rolled back, sessions terminated.
    cmd = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action]
    subprocess.run(cmd, check=True, timeout=60, capture_output=True)


def wait_pg_ready(dbs: StackDatabases, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ok = subprocess.run(
            ["pg_isready", "-q", "-h", dbs.server.host or "127.0.0.1", "-p", str(dbs.server.port)],
            timeout=10,
        )
        if ok.returncode == 0:
            return
        time.sleep(0.3)
    raise AssertionError("PostgreSQL did not come back")


def pg_outage(dbs: StackDatabases, seconds: float) -> float:
    """Stop PostgreSQL for about ``seconds``, start it whatever happens; the outage's length."""
    # A checkpoint first leaves the shutdown little to flush: the outage is the restart.
    dbs.psql("-c", "CHECKPOINT")
    began = time.monotonic()
    pg_ctl("stop")
    try:
        time.sleep(seconds)
    finally:
        pg_ctl("start")
        wait_pg_ready(dbs)
    return time.monotonic() - began
