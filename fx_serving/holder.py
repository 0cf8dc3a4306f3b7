"""The champion the service answers with, and its hot reload.

Requests read ``holder.champion`` once and use that object throughout, so a reload
that swaps in a new version (one reference assignment) never mixes two versions in a
response and never makes a request fail.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading

from fx_assets.core.alerts import AlertConfig, Notifier, model_refused
from fx_assets.core.models.champion import (
    Champion,
    ChampionError,
    NoChampionError,
    RefusedChampionError,
    no_champion_message,
)
from fx_assets.core.readmodel.registry import RegistryReader
from fx_assets.core.settings import load_settings
from fx_serving import metrics

log = logging.getLogger("fx_serving")


class ChampionHolder:
    """The loaded champion; ``reader`` (set by the app's lifespan) is where it comes from."""

    def __init__(self, reader: RegistryReader | None = None) -> None:
        self.champion: Champion | None = None
        self.problem: str = "champion not loaded yet: the model registry has not answered"
        self.reader = reader
        self._lock = threading.Lock()
        # The last version the loader refused: while the alias stays on it, it is not
        # downloaded, counted and alerted again at every interval.
        self._refused: str | None = None

    def _reader(self) -> RegistryReader:
        if self.reader is None:
            self.reader = RegistryReader(load_settings().mlflow_tracking_uri)
        return self.reader

    def refresh(self) -> bool:
        """Load the champion if the alias moved since the last load; True when swapped."""
        with self._lock:
            current = self.champion
            try:
                version = self._reader().champion_version()
                if version is None:
                    if current is None:
                        self.problem = no_champion_message()
                    return False
                if current is not None and current.version == version:
                    return False
                if version == self._refused:
                    return False
                loaded = self._reader().load_champion()
            except NoChampionError as exc:
                self.problem = str(exc)
                return False
            except RefusedChampionError as exc:
                self._refuse(version, str(exc))
                return False
            except ChampionError as exc:
                # Keep serving what is loaded; /ready and /model report the problem if none is.
                self.problem = str(exc)
                log.warning("champion reload failed: %s", exc)
                metrics.reload_failed()
                return False
            except Exception as exc:
                # A store error can quote its URL (and a password): name only the kind.
                self.problem = f"model registry error ({type(exc).__name__}); see the service log"
                log.exception("champion reload failed")
                metrics.reload_failed()
                return False
            self.champion = loaded
            self._refused = None
            metrics.champion_swapped(loaded.name, loaded.version, current and current.version)
            # As long-lived as the one it replaces (which refcounting still frees).
            gc.freeze()
            log.info(
                "serving %s version %s (was %s)",
                loaded.name,
                loaded.version,
                current.version if current else "none",
            )
            return True

    def _refuse(self, version: str, reason: str) -> None:
        """Keep serving the old champion; count, log and alert the refused version once."""
        self._refused = version
        if self.champion is None:
            self.problem = reason
        log.error("%s", reason)
        metrics.reload_failed()
        # No warehouse row (the service reads with a read-only role): each worker alerts.
        Notifier(AlertConfig.from_settings(load_settings())).send(model_refused(version, reason))

    async def watch(self, interval: float) -> None:
        """Check the alias every ``interval`` seconds, loading off the event loop."""
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(self.refresh)
