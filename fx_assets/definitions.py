"""The ``fx_assets`` code location: every definition under ``fx_assets/defs/``.

Dagster loads each domain folder's assets, checks, jobs, schedules and sensors itself,
and the resources from ``defs/resources.py``'s ``@definitions`` function; nothing here
lists them, and nothing reads the environment at import.
"""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
