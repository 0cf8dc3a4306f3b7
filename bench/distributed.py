"""Time the book's training on dagster-celery workers: one worker against two, each pinned
to one core (taskset), and the same runs in process, on the same data.

The book is ``--pairs`` pairs (default the seven majors): one training run per pair, all
launched at once as the weekly schedule asks for them, each orchestrated by its own
``dagster job execute`` (in process: the steps run there too, all pinned to one core).

Each scenario gets fresh stores (Dagster instance, warehouse and MLflow databases on the
PostgreSQL server given, an MLflow server, S3 from moto for the values between steps) and
the local RabbitMQ on 127.0.0.1:5672, as tests/deploy/test_distributed.py has them; the
workers run `dagster-celery worker start` with deploy/dagster/celery.yaml. It prints the
wall times, two workers over one (the issue's target: at most 0.6), the CPU of the
timed round by process, where its wall time went, and, for one pair (``--pairs 1``), the
Celery executor's cost per step against the in-process one: (one worker's wall time - in
process on one core) / steps. Each figure is the second of two runs, on workers that
have loaded the code location.

    python bench/distributed.py [--server postgresql://postgres@127.0.0.1:5432/postgres]
                                [--start 2015-01-01] [--end 2025-09-30]

Settings (FX_CV_FOLDS, FX_TUNING_BUDGET, FX_TEST_DAYS, FX_BACKTEST_*) default to a
moderate weekly training below; the environment overrides them.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from tempfile import mkdtemp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# One way to start a cluster: the distributed test's helpers.
from fx_assets.core.pairs import DEFAULT_BOOK  # noqa: E402
from tests.support.champions import fill_warehouse  # noqa: E402
from tests.support.distributed import (  # noqa: E402
    BROKER,
    Databases,
    base_env,
    broker_up,
    dagster_home,
    instance_env,
    mlflow_server,
    purge_queue,
    s3_env,
    s3_server,
    start_worker,
    worker_of,
)

SETTINGS = {
    "FX_TEST_DAYS": "250",
    "FX_GAP_DAYS": "1",
    "FX_CV_FOLDS": "3",
    "FX_TUNING_BUDGET": "8",
    "FX_BACKTEST_MIN_TRAIN_DAYS": "750",
    "FX_BACKTEST_REFIT_DAYS": "63",
}


PAIRS: tuple[str, ...] = DEFAULT_BOOK


@contextlib.contextmanager
def stores(dbs: Databases, tmp: Path, start: date, end: date) -> Iterator[dict[str, str]]:
    """Fresh databases, an MLflow server and S3; the variables every process gets."""
    dagster_db, warehouse_db, mlflow_db = (dbs.create(x) for x in ("dagster", "wh", "mlflow"))
    warehouse = dbs.url(warehouse_db)
    for pair in PAIRS:
        fill_warehouse(warehouse, start, end, pair)
    with (
        s3_server() as s3,
        mlflow_server(dbs.url(mlflow_db, "postgresql+psycopg2"), tmp / "mlflow") as tracking,
    ):
        knobs = {k: os.environ.get(k, v) for k, v in SETTINGS.items()}
        yield (
            base_env()
            | knobs
            | instance_env(dbs, dagster_db)
            | s3_env(s3)
            | {
                "FX_WAREHOUSE_URL": warehouse,
                "MLFLOW_TRACKING_URI": tracking,
            }
        )


POOL_LIMIT: int | None = None  # --pool-limit: the pools' limit, else dagster.yaml's


def prepare(env: dict[str, str], home: Path) -> None:
    """The book's pairs and pools in the instance, as the bootstrap sensor makes them (and
    the pools' limit of --pool-limit, as `dagster instance concurrency set` sets it)."""
    from dagster import DagsterInstance

    from fx_assets.defs.ingestion.partitions import register_pairs
    from fx_assets.defs.pools import POOLS, ensure_pools

    os.environ.update({k: v for k, v in env.items() if k.startswith("DAGSTER_")})
    with DagsterInstance.from_config(str(home)) as instance:
        register_pairs(instance, PAIRS)
        ensure_pools(instance)
        for pool in POOLS if POOL_LIMIT is not None else ():
            instance.event_log_storage.set_concurrency_slots(pool, POOL_LIMIT)


def book_runs(env: dict[str, str], folder: Path, log: str, cpu: int | None) -> None:
    """Every pair's training run at once; each orchestrator on core ``cpu`` if given."""
    cmd_cpu = ["taskset", "-c", str(cpu)] if cpu is not None else []
    started = []
    for pair in PAIRS:
        where = folder / pair
        where.mkdir(parents=True, exist_ok=True)
        cmd = [*cmd_cpu, str(Path(sys.executable).parent / "dagster"), "job", "execute"]
        cmd += ["-m", "fx_assets.definitions", "-j", "training_job"]
        cmd += ["--tags", json.dumps({"dagster/partition": pair})]
        out = (where / log).open("w")
        started.append((pair, subprocess.Popen(cmd, env=env, cwd=where, stdout=out, stderr=out)))
    for pair, proc in started:
        if proc.wait(timeout=7200) != 0:
            raise SystemExit(f"{pair}'s training run failed; see {folder / pair / log}")


# Where a round's CPU goes, by process: the first word that matches its command line.
KINDS = (
    ("celery", "worker"),  # dagster-celery workers and their pool processes
    ("job execute", "orchestrator"),  # a run's `dagster job execute`
    ("postgres", "postgresql"),
    ("beam", "rabbitmq"),
    ("mlflow", "mlflow"),
    ("gunicorn", "mlflow"),
    ("uvicorn", "mlflow"),
    ("moto", "s3"),
)
TICK = os.sysconf("SC_CLK_TCK")


def _cpu_of_all() -> dict[int, tuple[str, float]]:
    """pid -> (kind, CPU seconds so far) of every process of a kind in KINDS."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kind = next((k for word, k in KINDS if word in cmd), None)
        if kind is not None:
            found[int(stat.parent.name)] = (kind, (int(fields[11]) + int(fields[12])) / TICK)
    return found


class CpuSampler:
    """CPU seconds by kind of process during a ``with`` block, sampled every 0.2 s (a
    process that ends between samples loses at most its last 0.2 s)."""

    def __init__(self) -> None:
        self.first: dict[int, tuple[str, float]] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            for pid, seen in _cpu_of_all().items():
                self.first.setdefault(pid, (seen[0], 0.0))
                self.last[pid] = seen

    def __enter__(self) -> CpuSampler:
        self.first = _cpu_of_all()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def by_kind(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, (kind, cpu) in self.last.items():
            out[kind] = out.get(kind, 0.0) + cpu - self.first.get(pid, (kind, 0.0))[1]
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


CPU: dict[str, dict[str, float]] = {}


def timed_run(env: dict[str, str], folder: Path, cpu: int | None = None) -> float:
    """The book's second round of training runs: the first loads the code location into
    each worker process (10 to 15 s each, once in a worker's life) and promotes the first
    champions; the second is the steady weekly case."""
    home = dagster_home(folder / "dagster")
    env = env | {"DAGSTER_HOME": str(home), "FX_HOME": str(folder / "fx")}
    prepare(env, home)
    seconds = 0.0
    for attempt in ("warm-up", "timed"):
        BEGAN[folder.parent.name] = time.time()
        began = time.perf_counter()
        with CpuSampler() as sampler:
            book_runs(env, folder, f"{attempt}.log", cpu)
        seconds = time.perf_counter() - began
    CPU[folder.parent.name] = sampler.by_kind()
    return seconds


BEGAN: dict[str, float] = {}  # scenario -> when its timed round was launched (epoch s)
SPENT: dict[str, str] = {}  # scenario -> where its timed round's wall time went


def steps_of(env: dict[str, str], folder: Path) -> int:
    """The timed round's steps; also fills SPENT for its scenario from the instance."""
    from dagster import DagsterEventType, DagsterInstance

    os.environ.update({k: v for k, v in env.items() if k.startswith("DAGSTER_PG_")})
    with DagsterInstance.from_config(str(folder / "dagster")) as instance:
        runs = instance.get_runs(limit=len(PAIRS))
        logs = [e for r in runs for e in instance.all_logs(r.run_id)]
    name = folder.parent.name
    SPENT[name] = time_spent(logs, BEGAN[name])
    return sum(e.dagster_event_type == DagsterEventType.STEP_SUCCESS for e in logs)


def time_spent(logs: list, began: float) -> str:
    """Where a round's wall time went: launch to the first step on a worker, each
    worker's busy seconds (its steps, from the worker taking one to its last event), and
    the last run alone at the end."""
    from dagster import DagsterEventType

    taken: dict[tuple[str, str], tuple[str, float]] = {}
    ended: dict[tuple[str, str], float] = {}
    run_end: list[float] = []
    for e in logs:
        key = (e.run_id, str(e.step_key))
        kind = e.dagster_event_type
        node = worker_of(e)
        if node is not None:
            taken[key] = (node, e.timestamp)
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE):
            ended[key] = e.timestamp
        elif kind in (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE):
            run_end.append(e.timestamp)
    if not taken or not run_end:
        return "no steps on workers"
    busy: dict[str, float] = {}
    for key, (node, start) in taken.items():
        busy[node] = busy.get(node, 0.0) + ended.get(key, start) - start
    first = min(start for _, start in taken.values())
    run_end.sort()
    workers = ", ".join(f"{node.split('@')[0]} {s:.1f} s" for node, s in sorted(busy.items()))
    alone = f"; the last run alone {run_end[-1] - run_end[-2]:.1f} s" if len(run_end) > 1 else ""
    return f"launch to first step {first - began:.1f} s; busy in steps: {workers}{alone}"


def scenario(
    dbs: Databases, tmp: Path, start: date, end: date, workers: int | None
) -> tuple[float, int]:
    """Wall time and steps of one training run: in process (None) or on ``workers``."""
    with stores(dbs, tmp, start, end) as env:
        if workers is None:
            # On one core, as one worker: the difference is the executor's own cost.
            return timed_run(env, tmp / "run", cpu=0), 0
        env |= {"FX_EXECUTOR": "celery", "FX_CELERY_BROKER_URL": BROKER}
        purge_queue()
        started = [start_worker(f"b{i}", tmp / f"b{i}", env, cpu=i) for i in range(workers)]
        try:
            seconds = timed_run(env, tmp / "run")
            return seconds, steps_of(env, tmp / "run")
        finally:
            for w in started:
                w.process.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--pairs", type=int, default=7, help="the first N of the seven majors")
    parser.add_argument(
        "--skip-in-process", action="store_true", help="time the workers only (no Celery cost)"
    )
    parser.add_argument(
        "--pool-limit", type=int, help="the training and backtest pools' limit (default: 2)"
    )
    parser.add_argument("--start", type=date.fromisoformat, default=date(2015, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 9, 30))
    args = parser.parse_args()
    global PAIRS, POOL_LIMIT
    PAIRS = DEFAULT_BOOK[: args.pairs]
    POOL_LIMIT = args.pool_limit
    if not broker_up():
        raise SystemExit("no RabbitMQ on 127.0.0.1:5672: start rabbitmq-server (see .ci/run)")
    if (os.cpu_count() or 1) < 2:
        raise SystemExit("two workers pinned to two cores need two cores")
    dbs = Databases(args.server)
    try:
        # Kept after the run (its path is printed): a failed run's logs are the evidence.
        base = Path(mkdtemp(prefix="fx-bench-distributed-"))
        print(f"runs and logs in {base}", flush=True)
        inproc = float("nan")
        if not args.skip_in_process:
            inproc, _ = scenario(dbs, base / "in_process", args.start, args.end, None)
        one, steps = scenario(dbs, base / "one", args.start, args.end, 1)
        two, _ = scenario(dbs, base / "two", args.start, args.end, 2)
    finally:
        dbs.drop()
    pools = f"pools' limit {POOL_LIMIT}" if POOL_LIMIT is not None else "dagster.yaml's pools"
    print(f"training of {len(PAIRS)} pairs, {args.start} to {args.end}, {steps} steps, {pools}")
    print("| executor | wall time (s) |\n|---|---|")
    print(f"| in process, 1 core | {inproc:.1f} |")
    print(f"| celery, 1 worker on 1 core | {one:.1f} |")
    print(f"| celery, 2 workers on 1 core each | {two:.1f} |")
    print(f"two workers / one worker: {two / one:.2f} (target at most 0.60 with a book)")
    if len(PAIRS) == 1:
        print(f"Celery cost per step against in process: {(one - inproc) / max(steps, 1):.2f} s")
    else:
        # In process, the book's seven orchestrators run their steps on the one core, with
        # their start-up; on Celery they have the second core: no per-step difference.
        print("Celery cost per step: measured on one pair (--pairs 1), a chain of steps")
    print("CPU seconds of the timed round, by process:")
    for name, kinds in CPU.items():
        print(f"  {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in kinds.items()))
    print("Where the timed round's wall time went:")
    for name, spent in SPENT.items():
        print(f"  {name}: {spent}")


if __name__ == "__main__":
    main()
