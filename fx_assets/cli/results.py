"""What ``fx run`` reads from a finished run: the steps' typed reports, nothing by key.

Each asset records its report (``fx_assets.core.reports``) as its materialization's or
check's metadata; here it is read back into the same type, so a line of ``fx run`` says
exactly what the Dagster UI shows for that run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from dagster import AssetKey, ExecuteInProcessResult, MetadataValue

from fx_assets.core.reports import GapsReport, StepReport

R = TypeVar("R", bound=StepReport)


def _plain(metadata: Mapping[str, MetadataValue]) -> dict[str, Any]:
    return {key: value.value for key, value in metadata.items()}


def read_report(result: ExecuteInProcessResult, kind: type[R]) -> R | None:
    """The ``kind`` report of this run (its newest, for a partition range), or None when
    its asset did not materialize (the backtest skips a history too short)."""
    key = AssetKey(kind.ASSET)
    found = [
        event.step_materialization_data.materialization
        for event in result.get_asset_materialization_events()
        if event.asset_key == key
    ]
    if not found:
        return None
    return kind.from_metadata(_plain(found[-1].metadata))


def read_gaps(result: ExecuteInProcessResult) -> GapsReport | None:
    """The gaps check's report, when this run evaluated it."""
    key = AssetKey(GapsReport.ASSET)
    for check in result.get_asset_check_evaluations():
        if check.asset_key == key and check.check_name == GapsReport.CHECK:
            return GapsReport.from_metadata(_plain(check.metadata))
    return None
