"""Builders over the code location: the assets and checks of some groups, as loaded."""

from __future__ import annotations

from typing import Any

from dagster import (
    AssetChecksDefinition,
    AssetsDefinition,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    materialize,
)

from fx_assets.dagster_adapter import partition_range_tags

# Dagster's console logger at WARNING: a test's output shows failures, not every step.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def load() -> Definitions:
    from fx_assets.definitions import defs

    return defs()


def in_groups(*groups: str) -> list[Any]:
    """Every asset of ``groups`` and every check on those assets, ready for materialize()."""
    d = load()
    assets = [
        a
        for a in d.assets or []
        if isinstance(a, AssetsDefinition)
        and any(a.group_names_by_key.get(k) in groups for k in a.keys)
    ]
    keys = {k for a in assets for k in a.keys}
    checks = [
        c
        for c in d.asset_checks or []
        if isinstance(c, AssetChecksDefinition) and any(k.asset_key in keys for k in c.check_keys)
    ]
    return [*assets, *checks]


def checks_of(*groups: str) -> list[AssetChecksDefinition]:
    return [c for c in in_groups(*groups) if isinstance(c, AssetChecksDefinition)]


def partition_range(first: str, last: str) -> dict[str, str]:
    """Run tags that materialize the yearly partitions ``first`` to ``last`` in one run."""
    return partition_range_tags(first, last)


def materialize_groups(
    *groups: str,
    resources: dict[str, Any],
    years: tuple[str, str] | None = None,
    instance: DagsterInstance | None = None,
    **kwargs: Any,
) -> ExecuteInProcessResult:
    """Materialize ``groups`` (assets and checks), quietly, on ``instance`` or an ephemeral one.

    ``years``: the first and last yearly partition, for the partitioned ETL groups.
    """
    return materialize(
        in_groups(*groups),
        resources=resources,
        instance=instance or DagsterInstance.ephemeral(),
        tags=partition_range(*years) if years else None,
        run_config=QUIET,
        **kwargs,
    )
