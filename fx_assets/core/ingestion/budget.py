"""A per-minute request budget shared by every request to a provider, across pairs,
source objects, threads and processes.

Twelve Data counts credits per key per minute (the free plan: 8 a minute, 800 a day; one
``/time_series`` request is one credit). A book of seven pairs backfilled from 1999 is
seven or more requests, and the ETL runs of several pairs may overlap, so the limit is
kept by one ledger per ``FX_HOME``: a small JSON file of the times of the latest
requests, read and written under an ``flock`` (``filelock``), which every source object
in every process of the deployment consults before each request, retries included. A
request that would exceed the budget waits until the oldest one in the window leaves it.

The window is a minute and a second: the provider counts a request when it arrives, so a
second's margin keeps a request's travel time from putting more than the budget into one
of its minutes.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

log = logging.getLogger(__name__)

WINDOW_SECONDS = 61.0


class RequestBudget:
    """At most ``per_minute`` requests in any window of ``window`` seconds.

    ``ledger``: the file that shares the budget (the deployment's: under FX_HOME); None
    keeps it in this object only. ``clock`` (wall-clock seconds, comparable between
    processes) and ``sleep`` are injectable so that a test need not wait minutes.
    """

    def __init__(
        self,
        per_minute: int,
        ledger: Path | None = None,
        *,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute < 1:
            raise ValueError(f"a request budget needs 1 request a minute or more, not {per_minute}")
        self.per_minute = per_minute
        self.ledger = ledger
        self.window = window
        self.clock = clock
        self.sleep = sleep
        self._thread_lock = threading.Lock()
        self._stamps: list[float] = []
        self._file_lock = FileLock(f"{ledger}.lock") if ledger is not None else None

    def acquire(self, what: str = "a request") -> float:
        """Wait until one more request fits, count it, and return the time it counts at."""
        while True:
            with self._thread_lock:
                stamp, pause = self._take()
            if stamp is not None:
                return stamp
            log.info(
                "request budget of %d a minute spent; %s waits %.1f s",
                self.per_minute,
                what,
                pause,
            )
            self.sleep(pause)

    def _take(self) -> tuple[float | None, float]:
        """(now, 0) with the request counted, or (None, how long to wait for room)."""
        if self._file_lock is None:
            return self._take_from(self._stamps)
        assert self.ledger is not None
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        with self._file_lock:
            stamps = self._read()
            stamp, pause = self._take_from(stamps)
            if stamp is not None:
                self._write(stamps)
            return stamp, pause

    def _take_from(self, stamps: list[float]) -> tuple[float | None, float]:
        now = self.clock()
        # Only the window matters; a stamp from the future (a clock set back) counts as now.
        recent = sorted(min(s, now) for s in stamps if s > now - self.window)
        if len(recent) < self.per_minute:
            stamps[:] = [*recent, now]
            return now, 0.0
        stamps[:] = recent
        # Room opens when the request per_minute places back leaves the window.
        return None, max(recent[-self.per_minute] + self.window - now, 1e-3)

    def _read(self) -> list[float]:
        assert self.ledger is not None
        try:
            stamps = json.loads(self.ledger.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError):
            # Written by replace, so never half a file; anything else is not ours to trust,
            # and starting afresh costs at most one minute's budget twice.
            log.warning("request ledger %s unreadable; starting a new one", self.ledger)
            return []
        if not isinstance(stamps, list):
            return []
        return [float(s) for s in stamps if isinstance(s, int | float)]

    def _write(self, stamps: list[float]) -> None:
        assert self.ledger is not None
        tmp = self.ledger.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(stamps))
        os.replace(tmp, self.ledger)
