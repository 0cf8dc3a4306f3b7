"""The registry as consumers read it: the champion and the version history, never a write.

``RegistryReader`` is the one way a consumer opens MLflow; every read names the pair whose
registered model it reads (``Pair.parse(pair).model_name``: ``eur_usd_direction``).
Unlike ``registry.client()`` (training's), it creates no experiment, never sets the
``mlflow`` module's URIs or an environment variable, and does not create a store that is
not there: a SQLite store that does not exist yet means "nothing registered", not a new
file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fx_assets.core.domain import MODEL_NAME
from fx_assets.core.models.champion import Champion, champion_version, load_champion
from fx_assets.core.models.registry import (
    CHALLENGER,
    CHAMPION,
    Version,
    alias_version,
    list_versions,
)
from fx_assets.core.models.store import ensure_tracking_store, sqlite_path
from fx_assets.core.pairs import DEFAULT_PAIR, model_name
from fx_assets.core.redaction import one_line, redact_url

RECENT_VERSIONS = 8


class RegistryReader:
    """Read-only access to the registered model at ``uri`` (tracking and registry)."""

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self._client: Any = None

    @property
    def exists(self) -> bool:
        """False for a SQLite store whose file is not there yet (nothing registered)."""
        path = sqlite_path(self.uri)
        return path is None or path.exists()

    @property
    def client(self) -> Any:
        """An ``MlflowClient`` on the store; the store's schema is brought up to date under
        its lock first (the page or service may be the first process to open an existing
        store after an upgrade), which writes no run, experiment or model."""
        if self._client is None:
            import mlflow

            ensure_tracking_store(self.uri)
            self._client = mlflow.MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        return self._client

    def versions(self, pair: str = DEFAULT_PAIR) -> list[Version]:
        """Every version of ``pair``'s registered model, newest first; empty before the first."""
        return list_versions(self.client, name=model_name(pair)) if self.exists else []

    def champion_version(self, pair: str = DEFAULT_PAIR) -> str | None:
        """The version ``pair``'s ``champion`` alias points at now, or None."""
        return champion_version(self.client, model_name(pair)) if self.exists else None

    def champion(self, pair: str = DEFAULT_PAIR) -> Version | None:
        """``pair``'s champion as registered (tags, aliases), or None; nothing is loaded."""
        return alias_version(self.client, CHAMPION, name=model_name(pair)) if self.exists else None

    def load_champion(self, pair: str = DEFAULT_PAIR) -> Champion:
        """Load ``pair``'s champion's exact version (``ChampionError`` says what is wrong)."""
        return load_champion(self.client, model_name(pair))


@dataclass(frozen=True)
class ModelHistory:
    """The champion and the recent versions; ``message`` set says why something is missing."""

    name: str = MODEL_NAME
    champion: Version | None = None
    challenger: Version | None = None
    versions: list[Version] = field(default_factory=list)
    message: str | None = None
    problem: bool = False


def model_history(
    reader: RegistryReader, recent: int = RECENT_VERSIONS, *, pair: str = DEFAULT_PAIR
) -> ModelHistory:
    """``pair``'s champion, challenger and ``recent`` newest versions; never raises."""
    name = model_name(pair)
    if not reader.exists:
        return ModelHistory(
            name=name,
            message="No model registry yet: training registers the first model (`fx run`).",
        )
    try:
        versions = reader.versions(pair)
    except Exception as exc:
        # One line, never a traceback, whatever the store throws.
        return ModelHistory(
            name=name,
            message=f"Model registry unreachable ({redact_url(reader.uri)}): {one_line(exc)}",
            problem=True,
        )
    if not versions:
        return ModelHistory(
            name=name, message=f"No model registered as {name} yet: run training (`fx run`)."
        )
    champion = next((v for v in versions if CHAMPION in v.aliases), None)
    return ModelHistory(
        name=name,
        champion=champion,
        challenger=next((v for v in versions if CHALLENGER in v.aliases), None),
        versions=versions[:recent],
        message=None
        if champion
        else f"No champion yet: no version of {name} carries the `champion` alias.",
    )
