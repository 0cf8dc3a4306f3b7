"""``fx run`` on a source with too little history: ETL lands, training stops in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

from fx_assets.core.contracts import FINAL, RAW, TRAIN
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.training.splits import min_train_rows
from fx_assets.core.warehouse import Warehouse


def test_fx_run_with_too_little_history_stops_at_training(fx_home: Path) -> None:
    last = EcbSource.history()["date"].max().date()
    start = (pd.Timestamp(last) - pd.offsets.BDay(90)).date()
    env = {**os.environ, "FX_START_DATE": start.isoformat()}
    fx_bin = Path(sys.executable).parent / "fx"
    done = subprocess.run(
        [str(fx_bin), "run"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    at = [i for i, line in enumerate(lines) if line.startswith("fx run: error:")]
    assert len(at) == 1
    # The job and step, then the reason, then the run id: a few lines.
    where, reason, run_id = lines[at[0] : at[0] + 3]
    assert where == "fx run: error: training_job failed at step fx_split for EURUSD"
    assert reason.startswith("  reason: EURUSD: fx_final has")
    assert f"training needs at least {min_train_rows(5) + 1 + 500}" in reason
    assert run_id.startswith("  run id: ")
    assert "Traceback" not in done.stderr
    wh = Warehouse(f"sqlite:///{fx_home / 'warehouse.db'}")
    assert wh.count(RAW) > 60 and wh.count(FINAL) > 0  # ETL tables stay
    assert wh.count(TRAIN) == 0
