"""Builders over the code location: the assets and checks of some groups, as loaded."""

from __future__ import annotations

from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetChecksDefinition,
    AssetsDefinition,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    materialize,
)

from fx_assets.core.pairs import DEFAULT_PAIR
from fx_assets.dagster_adapter import partition_range_tags
from fx_assets.defs.ingestion.partitions import PAIRS, raw_key

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


def partition_range(first: str, last: str, pair: str = DEFAULT_PAIR) -> dict[str, str]:
    """Run tags that materialize ``pair``'s yearly ``fx_raw`` partitions ``first`` to
    ``last`` in one run."""
    return partition_range_tags(str(raw_key(pair, first)), str(raw_key(pair, last)))


def book_range(pairs: tuple[str, ...], first: str, last: str) -> dict[str, str]:
    """Run tags for the ``fx_raw`` partitions of ``pairs`` (registered in that order) from
    year ``first`` to ``last``: one run for the rectangle."""
    return partition_range_tags(str(raw_key(pairs[0], first)), str(raw_key(pairs[-1], last)))


def register_pairs(instance: DagsterInstance, pairs: tuple[str, ...] = (DEFAULT_PAIR,)) -> None:
    """Add the book's pairs to the instance's dynamic partitions, as the bootstrap does."""
    known = set(instance.get_dynamic_partitions(PAIRS.name))
    instance.add_dynamic_partitions(PAIRS.name, [p for p in pairs if p not in known])


def materialize_groups(
    *groups: str,
    resources: dict[str, Any],
    years: tuple[str, str] | None = None,
    instance: DagsterInstance | None = None,
    pairs: tuple[str, ...] = (DEFAULT_PAIR,),
    **kwargs: Any,
) -> ExecuteInProcessResult:
    """Materialize ``groups`` (assets and checks), quietly, on ``instance`` or an ephemeral one.

    The ingestion group runs first, in one run for ``pairs`` x ``years`` (the first and last
    year); every other group then runs once per pair (its partition), in the order given.
    Returns the last run's result; a failed run stops there and is returned.
    """
    instance = instance or DagsterInstance.ephemeral()
    register_pairs(instance, pairs)
    result: ExecuteInProcessResult | None = None
    if "ingestion" in groups:
        if years is None:
            raise ValueError("the ingestion group needs years=(first, last)")
        result = materialize(
            in_groups("ingestion"),
            resources=resources,
            instance=instance,
            tags=book_range(pairs, *years),
            run_config=QUIET,
            **kwargs,
        )
        if not result.success:
            return result
    rest = [g for g in groups if g != "ingestion"]
    if rest:
        for pair in pairs:
            result = materialize(
                in_groups(*rest),
                resources=resources,
                instance=instance,
                partition_key=pair,
                run_config=QUIET,
                **kwargs,
            )
            if not result.success:
                return result
    assert result is not None
    return result


class Runs:
    """The ETL run (fx_raw for the book's years) and the features run of each pair."""

    def __init__(self, etl: ExecuteInProcessResult, features: list[ExecuteInProcessResult]):
        self.etl, self.features = etl, features
        self.success = etl.success and all(f.success for f in features)

    def checks(self) -> list[AssetCheckEvaluation]:
        return [c for r in (self.etl, *self.features) for c in r.get_asset_check_evaluations()]


def etl_and_features(
    resources: dict[str, Any],
    years: tuple[str, str],
    *,
    pairs: tuple[str, ...] = (DEFAULT_PAIR,),
    instance: DagsterInstance | None = None,
) -> Runs:
    """``pairs``' years in one ETL run, then each pair's features (if the ETL succeeded)."""
    instance = instance or DagsterInstance.ephemeral()
    register_pairs(instance, pairs)
    etl = materialize(
        in_groups("ingestion"),
        resources=resources,
        instance=instance,
        tags=book_range(pairs, *years),
        run_config=QUIET,
        raise_on_error=False,
    )
    if not etl.success:
        return Runs(etl, [])
    features = [
        materialize(
            in_groups("features"),
            resources=resources,
            instance=instance,
            partition_key=pair,
            run_config=QUIET,
            raise_on_error=False,
        )
        for pair in pairs
    ]
    return Runs(etl, features)
