"""The one module that imports Dagster's private modules, each import with its reason.

Dagster 1.13 exposes no public constant or argument for these; when it does, the import
moves to ``dagster`` and this module goes. Everything else (the CLI included) uses only
``dagster``'s public API; a test holds that line.
"""

from __future__ import annotations

# A single-run backfill of a partition range in process: ``execute_in_process`` takes
# one ``partition_key``, and Dagster reads a range from these two run tags (as the
# daemon's backfills set them). Imported, not spelled, so a rename breaks loudly here.
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)


def partition_range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make one run cover the partitions ``first`` to ``last`` (keys)."""
    return {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}
