"""Time the weekly training on the full ECB history: wall time, peak memory, honest scores.

The training job is what the Sunday schedule runs for each pair; here EUR/USD's run (its
partition): the split, three candidates' time-series CV, tuning of the best family,
registration, promotion and the checks. It runs in process on a persistent SQLite
Dagster instance, as `fx run` does, with the default settings (test 500 days, gap 1,
5 folds, tuning budget 8) unless FX_TEST_DAYS, FX_CV_FOLDS, FX_TUNING_BUDGET... say
otherwise.

The warehouse is filled once by the ETL over the whole history (1999 to the package's
last fixing; several minutes, in a child process so its memory is not counted) and
kept in ``--home`` (default ``.fx/bench-training``) for later runs. Each bench starts
from an empty MLflow store and trains twice: the first run promotes the first champion
(and pays for creating the MLflow schema); the second is the steady weekly case, a
challenger scored against the champion.

    python bench/training.py [--home DIR] [--runs 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from fx_assets.core.contracts import FINAL
from fx_assets.core.pairs import DEFAULT_PAIR

ROOT = Path(__file__).resolve().parents[1]
GIB = 1024**3


def _environment(home: Path) -> None:
    for var in ("FX_WAREHOUSE_URL", "FX_SOURCE", "FX_START_DATE", "MLFLOW_TRACKING_URI"):
        os.environ.pop(var, None)
    os.environ["FX_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")


def ensure_history(home: Path) -> int:
    """ETL the full ECB history into ``home`` unless it is already there; final rows."""
    from fx_assets.core.warehouse import Warehouse

    url = f"sqlite:///{home / 'warehouse.db'}"
    if (home / "warehouse.db").exists() and Warehouse(url).count(FINAL, pair=DEFAULT_PAIR) > 5000:
        return Warehouse(url).count(FINAL, pair=DEFAULT_PAIR)
    print(f"filling {home} with the full ECB history (ETL only, several minutes) ...")
    started = time.perf_counter()
    code = (
        "from fx_assets.cli.main import prepare_environment; prepare_environment(); "
        "from fx_assets.cli.run import run_etl; run_etl(print)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env=os.environ.copy())
    print(f"filled in {time.perf_counter() - started:.0f} s")
    return Warehouse(url).count(FINAL, pair=DEFAULT_PAIR)


def peak_rss_bytes() -> int:
    # ru_maxrss is in KiB on Linux; children covers any process the training spawned.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) * 1024


def train_once(n: int) -> dict[str, Any]:
    from dagster import DagsterInstance

    from fx_assets.cli.run import definitions

    instance = DagsterInstance.get()
    # The pair as the bootstrap registers it; the job runs one pair's partition.
    if not instance.has_dynamic_partition("pair", DEFAULT_PAIR):
        instance.add_dynamic_partitions("pair", [DEFAULT_PAIR])
    started = time.perf_counter()
    job = definitions().resolve_job_def("training_job")
    result = job.execute_in_process(instance=instance, partition_key=DEFAULT_PAIR)
    wall = time.perf_counter() - started
    steps = {
        e.step_key: e.event_specific_data.duration_ms / 1000
        for e in result.all_events
        if e.is_step_success
    }
    meta = {}
    for node in ("model_candidates", "challenger_model", "champion_model"):
        found = result.asset_materializations_for_node(node)
        meta[node] = {k: v.value for k, v in found[-1].metadata.items()}
    print(f"\nrun {n}: {wall:.1f} s wall, peak RSS so far {peak_rss_bytes() / GIB:.2f} GiB")
    for step, seconds in steps.items():
        print(f"  {step:<45} {seconds:6.1f} s")
    cand = meta["model_candidates"]
    print(
        f"  candidates, CV PR-AUC on {cand['train_rows']} train rows "
        f"({cand['cv_folds']} folds; always up {cand['cv_baseline_pr_auc']:.4f}):"
    )
    for key, value in cand.items():
        if key.startswith("cv_pr_auc_"):
            print(f"    {key.removeprefix('cv_pr_auc_'):<20} {value:.4f}")
    ch = meta["challenger_model"]
    print(
        f"  challenger v{ch['model_version']} {ch['family']} {ch['params']}: CV PR-AUC"
        f" {ch['cv_pr_auc']:.4f}; test PR-AUC {ch['test_pr_auc']:.4f}, ROC-AUC"
        f" {ch['test_roc_auc']:.4f}, accuracy {ch['test_accuracy']:.4f}, Brier"
        f" {ch['test_brier']:.4f}; always-up PR-AUC {ch['test_baseline_pr_auc']:.4f}"
        f" (accuracy {ch['test_baseline_accuracy']:.4f})"
    )
    print(f"  decision: {meta['champion_model']['reason']}")
    return {"wall": wall, "meta": meta}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, default=ROOT / ".fx" / "bench-training")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    home = args.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    _environment(home)
    from fx_assets.cli.main import prepare_environment

    prepare_environment()
    rows = ensure_history(home)
    # A fresh registry each bench, so the numbers do not depend on earlier benches.
    (home / "mlflow.db").unlink(missing_ok=True)
    shutil.rmtree(home / "mlartifacts", ignore_errors=True)

    print(
        f"fx_final ({DEFAULT_PAIR}): {rows} rows; cores: {os.cpu_count()}; load: {os.getloadavg()}"
    )
    runs = [train_once(n) for n in range(1, args.runs + 1)]

    from fx_assets.core.models import registry

    champion = registry.champion_info()
    peak = peak_rss_bytes()
    print("\nsummary")
    walls = ", ".join(f"{r['wall']:.1f} s" for r in runs)
    print(f"  wall per training: {walls} (target < 90 s)")
    print(f"  peak RSS: {peak / GIB:.2f} GiB (target < 2 GiB)")
    if champion is not None:
        print(
            f"  champion v{champion.version} ({champion.tags.get(registry.TAG_FAMILY)}):"
            f" test PR-AUC {champion.number(registry.TAG_TEST_PR_AUC):.4f} vs always-up"
            f" baseline {champion.number(registry.TAG_BASELINE_PR_AUC):.4f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
