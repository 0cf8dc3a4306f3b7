"""Builders over the code location: the assets and checks of some groups, as loaded."""

from __future__ import annotations

from typing import Any

from dagster import AssetChecksDefinition, AssetsDefinition, Definitions


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
