"""Exclusive locks between processes on one machine: one ``fx run`` per FX_HOME, one
creator of a new MLflow store.

``filelock`` takes an ``flock`` on the lock file. The kernel drops it when the holding
process exits in any way, killed with SIGKILL included, so a lock left by a dead run never
blocks the next one, and there is no stale-lock timeout to tune. The holder's pid is
written to a file beside the lock (not into it: a waiting process opens the lock file
and would truncate it), only so that the refusal can say who holds it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

HOME_LOCK_NAME = ".fx-run.lock"


class LockBusy(RuntimeError):
    """Another process holds the lock; the one-line message names it and what to do."""


def _holder(pid_path: Path) -> str:
    try:
        pid = pid_path.read_text().strip()
    except OSError:
        return "pid unknown"
    return f"pid {pid}" if pid.isdigit() else "pid unknown"


@contextlib.contextmanager
def exclusive(
    path: Path, *, wait: float = 0.0, holder: str = "another process", advice: str = ""
) -> Iterator[None]:
    """Hold the lock at ``path`` for the ``with`` block.

    ``wait``: seconds to wait for a busy lock; 0 refuses at once. Raises LockBusy with one
    line naming the holder's pid when the lock stays busy.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    pid_path = path.with_name(path.name + ".pid")
    # thread_local=False: the lock belongs to the process, whichever thread releases it.
    lock = FileLock(path, timeout=wait, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        waited = f" after waiting {wait:g} s" if wait > 0 else ""
        raise LockBusy(
            f"{holder} ({_holder(pid_path)}) holds {path.parent}{waited}"
            + (f"; {advice}" if advice else "")
        ) from None
    try:
        pid_path.write_text(str(os.getpid()))
        yield
    finally:
        with contextlib.suppress(OSError):
            if pid_path.read_text().strip() == str(os.getpid()):
                pid_path.unlink()
        lock.release()


def home_lock(home: Path, *, wait: float = 0.0) -> contextlib.AbstractContextManager[None]:
    """One ``fx run`` at a time on an FX_HOME: the second waits ``wait`` s, then refuses."""
    return exclusive(
        home / HOME_LOCK_NAME,
        wait=wait,
        holder="another fx run",
        advice="wait for it to finish (or use fx run --wait SECONDS), or use another FX_HOME",
    )
