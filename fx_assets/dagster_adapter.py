"""The one module that imports Dagster's private modules, each import with its reason.

Dagster 1.13 exposes no public API for these two needs; when it does, the import moves to
``dagster`` and its part of this module goes. Everything else (the CLI included) uses
only ``dagster``'s public API; a test (tests/cli/test_boundaries.py) holds that line.

1. The Dagster instance's storage (``PostgresOrSqliteStorage``), as the root
``dagster.yaml`` names it.

Why a storage class rather than a ``storage: postgres`` block: ``dagster dev``, ``dg dev``
and ``dg check defs`` in the repository root read ``./dagster.yaml`` whenever
DAGSTER_HOME is unset (Dagster then makes a temporary instance configured by the working
directory's file), while the image and ``fx up`` copy the same file into their
DAGSTER_HOME. Dagster's ``{env: VAR}`` has no default, so a plain PostgreSQL block failed
in a fresh clone with a trace asking for DAGSTER_PG_PORT. The other ways out were worse:
``.env`` is the compose deployment's secrets file (git-ignored, and DAGSTER_HOME must be
an absolute path), dg has no instance setting, and moving the file away leaves the design
card's top-level ``dagster.yaml`` behind. So the one file chooses:

- DAGSTER_PG_HOST set (the image, compose, ``fx up`` with PostgreSQL): PostgreSQL from the
  ``postgres_db`` block below it, its ``{env: ...}`` values read as Dagster reads them;
- unset (a fresh clone, ``fx up`` and ``fx run`` on the embedded defaults): SQLite in
  ``$DAGSTER_HOME``, else ``$FX_HOME/dagster``: the instance ``fx run`` writes, so its runs
  show up in ``dg dev``'s UI.

Dagster exports no public name for a storage class or the SQLite storage; this module is
the one place that imports them from ``dagster._core`` / ``dagster._serdes``.

2. ``partition_range_tags``: a single-run backfill of a partition range (``fx run``, the
bootstrap sensor): ``execute_in_process`` and ``RunRequest`` take one partition key, and
Dagster reads a range from two run tags (as the daemon's backfills set them). Imported,
not spelled, so a rename breaks loudly here. ``PARTITION_TAG`` likewise: the tag a run of
one partition (one pair) carries, read by the monitoring sensors to name and find a pair's
runs (``RunsFilter`` and ``DagsterRun`` have no public partition field).
"""

from __future__ import annotations

import os
from typing import Any

from dagster import Field, Permissive
from dagster._core.storage.base_storage import DagsterStorage
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)
from dagster._serdes import ConfigurableClass, ConfigurableClassData

from fx_assets.core.settings import load_settings


class InstanceConfigError(ValueError):
    """A variable the PostgreSQL block names is not set; one line says which."""


def _resolve(value: Any) -> Any:
    """A ``{env: VAR}`` value read from the environment, as Dagster's StringSource does."""
    if isinstance(value, dict) and set(value) == {"env"}:
        name = value["env"]
        if name not in os.environ:
            raise InstanceConfigError(
                f"dagster.yaml: DAGSTER_PG_HOST is set but {name} is not: set every DAGSTER_PG_*"
            )
        return os.environ[name]
    return value


class PostgresOrSqliteStorage(DagsterStorage, ConfigurableClass):
    """PostgreSQL when DAGSTER_PG_HOST is set, else the embedded SQLite instance.

    Never instantiated: Dagster checks that the named class is a storage class and calls
    ``from_config_value``, which returns Dagster's own PostgreSQL or SQLite storage.
    """

    @classmethod
    def config_type(cls) -> dict[str, Field]:
        # Permissive: the {env: ...} values stay unread until PostgreSQL is chosen.
        return {"postgres_db": Field(Permissive(), is_required=True)}

    @classmethod
    def from_config_value(  # type: ignore[override]
        cls, inst_data: ConfigurableClassData | None, config_value: dict[str, Any]
    ) -> DagsterStorage:
        settings = load_settings()
        if settings.dagster_pg_host:
            from dagster_postgres import DagsterPostgresStorage

            db = {k: _resolve(v) for k, v in config_value["postgres_db"].items()}
            return DagsterPostgresStorage.from_config_value(inst_data, {"postgres_db": db})
        assert settings.dagster_home is not None  # filled from FX_HOME by the settings
        return DagsterSqliteStorage.from_local(str(settings.dagster_home), inst_data=inst_data)


# The run tag holding a run's one partition key ("dagster/partition").
PARTITION_TAG: str = PARTITION_NAME_TAG


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover the partitions ``first`` to ``last`` (keys)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
