"""``fx`` as a user runs it, in a process of its own: an environment with none of the
caller's FX_/MLFLOW_/DAGSTER variables, a fresh FX_HOME and settings that keep a run short."""

from __future__ import annotations

import os
from pathlib import Path

# A short history and a small search keep each run to tens of seconds; one pair unless a
# test of the book names FX_PAIRS.
FAST = {
    "FX_PAIRS": "EURUSD",
    "FX_START_DATE": "2016-01-04",
    "FX_TEST_DAYS": "250",
    "FX_CV_FOLDS": "3",
    "FX_TUNING_BUDGET": "3",
}


def fx_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FX_", "MLFLOW_", "DAGSTER"))}
    env.update({"FX_HOME": str(home), **FAST, **extra})
    return env
