"""The champion of each pair the service answers with, and its hot reload.

One ``ChampionHolder`` per pair of the book (``FX_PAIRS``), all loaded at start: the
first ``/predict`` of a pair never waits seconds for a download, ``/pairs`` says at once
which pair has no champion, and seven small estimators cost a few MB. Each holder checks
its own pair's ``champion`` alias and swaps on its own, so a pair whose new version is
refused or whose registry read fails keeps its old champion and touches no other pair.

Requests read ``holder.champion`` once and use that object throughout, so a reload
that swaps in a new version (one reference assignment) never mixes two versions in a
response and never makes a request fail.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import Iterable

from fx_assets.core.alerts import AlertConfig, Notifier, model_refused
from fx_assets.core.models.champion import (
    Champion,
    ChampionError,
    NoChampionError,
    RefusedChampionError,
    no_champion_message,
)
from fx_assets.core.pairs import DEFAULT_PAIR, Pair
from fx_assets.core.readmodel.registry import RegistryReader
from fx_assets.core.settings import load_settings
from fx_serving import metrics

log = logging.getLogger("fx_serving")


class ChampionHolder:
    """``pair``'s loaded champion; ``reader`` (set by the app's lifespan) is where it comes
    from."""

    def __init__(self, reader: RegistryReader | None = None, pair: str = DEFAULT_PAIR) -> None:
        self.pair = Pair.parse(pair).code
        self.model_name = Pair.parse(pair).model_name
        metrics.pair_served(self.pair)
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
                version = self._reader().champion_version(self.pair)
                if version is None:
                    if current is None:
                        self.problem = no_champion_message(self.model_name)
                    return False
                if current is not None and current.version == version:
                    return False
                if version == self._refused:
                    return False
                loaded = self._reader().load_champion(self.pair)
            except NoChampionError as exc:
                self.problem = str(exc)
                return False
            except RefusedChampionError as exc:
                self._refuse(version, str(exc))
                return False
            except ChampionError as exc:
                # Keep serving what is loaded; /ready and /model report the problem if none is.
                self.problem = str(exc)
                log.warning("%s champion reload failed: %s", self.pair, exc)
                metrics.reload_failed(self.pair)
                return False
            except Exception as exc:
                # A store error can quote its URL (and a password): name only the kind.
                self.problem = f"model registry error ({type(exc).__name__}); see the service log"
                log.exception("%s champion reload failed", self.pair)
                metrics.reload_failed(self.pair)
                return False
            self.champion = loaded
            self._refused = None
            metrics.champion_swapped(
                self.pair, loaded.name, loaded.version, current and current.version
            )
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
        metrics.reload_failed(self.pair)
        # No warehouse row (the service reads with a read-only role): each worker alerts.
        Notifier(AlertConfig.from_settings(load_settings())).send(model_refused(version, reason))


class BookHolders:
    """One holder per pair of the book, in its order; the only pairs the service serves."""

    def __init__(self, book: Iterable[str], reader: RegistryReader | None = None) -> None:
        self.holders = {h.pair: h for h in (ChampionHolder(reader, pair) for pair in book)}

    @property
    def book(self) -> tuple[str, ...]:
        return tuple(self.holders)

    def get(self, pair: str) -> ChampionHolder | None:
        return self.holders.get(pair)

    def set_reader(self, reader: RegistryReader) -> None:
        """One reader (one MLflow client) for every pair: the registry is one store."""
        for holder in self.holders.values():
            holder.reader = reader

    def refresh(self) -> list[str]:
        """Refresh every pair in turn; the pairs whose champion was swapped."""
        return [pair for pair, holder in self.holders.items() if holder.refresh()]

    async def watch(self, interval: float) -> None:
        """Check each pair's alias every ``interval`` seconds, loading off the event loop;
        a pair's failure is its own (the holder keeps its champion and says why)."""
        while True:
            await asyncio.sleep(interval)
            await asyncio.to_thread(self.refresh)
