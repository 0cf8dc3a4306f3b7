"""The FX_HOME lock between real processes: a second holder refuses at once (naming the
first's pid) or waits a bounded time; a killed holder never blocks the next one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fx_assets.core.locking import LockBusy, exclusive, home_lock

HOLD = """
import sys, time
from pathlib import Path
from fx_assets.core.locking import home_lock, LockBusy
home, wait, hold = Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
try:
    with home_lock(home, wait=wait):
        print("held", flush=True)
        time.sleep(hold)
except LockBusy as exc:
    print(exc, flush=True)
    sys.exit(3)
"""


def holder(home: Path, *, wait: float = 0.0, hold: float = 30.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", HOLD, str(home), str(wait), str(hold)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_held(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"


def test_a_second_process_refuses_at_once_naming_the_holder(tmp_path: Path) -> None:
    first = holder(tmp_path)
    try:
        wait_until_held(first)
        started = time.monotonic()
        second = holder(tmp_path, wait=0)
        out, err = second.communicate(timeout=30)
        elapsed = time.monotonic() - started

        assert second.returncode == 3, err
        (line,) = out.strip().splitlines()
        assert line.startswith(f"another fx run (pid {first.pid}) holds {tmp_path}")
        assert "--wait" in line
        # Refusing is immediate: the time is the interpreter's start-up, not a wait.
        assert elapsed < 10
    finally:
        first.kill()
        first.wait()


def test_a_second_process_waits_for_the_first_to_finish(tmp_path: Path) -> None:
    first = holder(tmp_path, hold=1.5)
    wait_until_held(first)

    second = holder(tmp_path, wait=30, hold=0)
    out, _ = second.communicate(timeout=60)

    assert second.returncode == 0 and out.strip() == "held"
    assert first.wait(timeout=30) == 0


def test_a_bounded_wait_then_refuses(tmp_path: Path) -> None:
    first = holder(tmp_path)
    try:
        wait_until_held(first)
        with (
            pytest.raises(LockBusy, match=r"pid \d+\) holds .* after waiting 0.5 s"),
            home_lock(tmp_path, wait=0.5),
        ):
            pass
    finally:
        first.kill()
        first.wait()


def test_a_killed_holder_does_not_block_the_next_run(tmp_path: Path) -> None:
    first = holder(tmp_path)
    wait_until_held(first)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    # The pid file of the dead run is still there; the lock itself died with it.
    assert (tmp_path / ".fx-run.lock.pid").read_text() == str(first.pid)

    with home_lock(tmp_path, wait=0):
        assert (tmp_path / ".fx-run.lock.pid").read_text() == str(os.getpid())
    assert not (tmp_path / ".fx-run.lock.pid").exists()


def test_the_lock_is_released_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError), exclusive(tmp_path / "x.lock"):
        raise ZeroDivisionError

    with exclusive(tmp_path / "x.lock", wait=0):
        pass
