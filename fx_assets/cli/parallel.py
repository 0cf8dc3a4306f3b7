"""Per-pair runs of ``fx run``, side by side up to FX_MAX_PARALLEL.

Each pair's run is one Dagster run of a pair-partitioned job, recorded in the instance
like any other. Pairs are independent, so they run in separate processes (a process each,
reused across pairs): both cores work, and a pair that fails stops only itself. A child
returns plain values (the run's step reports as metadata dicts, or its failure in a few
lines), never a Dagster object, so nothing but the stores is shared.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fx_assets.core.reports import StepReport

R = TypeVar("R", bound=StepReport)


@dataclass(frozen=True)
class PairRun:
    """One pair's run: its reports by class name, or why it failed."""

    pair: str
    run_id: str | None = None
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def report(self, kind: type[R]) -> R | None:
        found = self.reports.get(kind.__name__)
        return None if found is None else kind.from_metadata(found)


def _share(parallel: int) -> None:
    """In a pool process: this process's share of FX_MAX_PARALLEL, for the processes its
    backtests use and for its BLAS and OpenMP thread pools (``fx run`` already runs pairs
    side by side on the cores: two pairs whose linear algebra each wanted every core made
    a logistic fit several times slower)."""
    from threadpoolctl import threadpool_limits

    os.environ["FX_MAX_PARALLEL"] = str(parallel)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(parallel)  # libraries not loaded yet read these
    threadpool_limits(limits=parallel)  # and those already loaded are told now


def run_pair(
    job_name: str, pair: str, log_level: str | None, kinds: tuple[type[StepReport], ...]
) -> PairRun:
    """Execute ``job_name`` for ``pair`` here; the reports of ``kinds`` it recorded."""
    from fx_assets.cli.errors import PipelineError
    from fx_assets.cli.main import ignore_import_warnings, quiet_libraries

    ignore_import_warnings()
    from fx_assets.cli.results import read_report
    from fx_assets.cli.run import execute

    quiet = quiet_libraries() if log_level is None else nullcontext()
    try:
        with quiet:
            result = execute(job_name, partition_key=pair, log_level=log_level)
    except PipelineError as exc:
        return PairRun(pair, error=str(exc))
    finally:
        _release_loky()
    found = {k.__name__: read_report(result, k) for k in kinds}
    reports = {name: r.to_metadata() for name, r in found.items() if r is not None}
    return PairRun(pair, run_id=result.run_id, reports=reports)


def _release_loky() -> None:
    """Stop the backtest's joblib (loky) workers now. They idle for five minutes before
    they exit, and a pool process of ``run_pairs`` waits for its children when the pool
    shuts down: without this, ``fx run`` sat idle that long at its end."""
    if "joblib.externals.loky.process_executor" in sys.modules:
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True, kill_workers=True)


class Pairs:
    """The processes ``fx run``'s pairs run in: at most ``parallel`` pairs at a time, in
    fresh ("spawn") processes (a forked copy would share this process's open database
    connections), kept for every stage so that each loads the code location once.

    One pair, or ``parallel`` 1: in this process, with no second process to start.
    """

    def __init__(self, parallel: int, book_size: int) -> None:
        self.workers = max(1, min(parallel, book_size))
        self.pool: ProcessPoolExecutor | None = None
        if self.workers > 1:
            self.pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_share,
                initargs=(max(1, parallel // self.workers),),
            )

    def __enter__(self) -> Pairs:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)

    def run(
        self,
        job_name: str,
        pairs: Iterable[str],
        *,
        log_level: str | None,
        kinds: tuple[type[StepReport], ...] = (),
        on_done: Callable[[PairRun], None] = lambda _run: None,
    ) -> list[PairRun]:
        """Every pair's run of ``job_name``, in book order as they are reported."""
        pairs = list(pairs)
        runs: list[PairRun] = []
        if self.pool is None or len(pairs) == 1:
            for pair in pairs:
                runs.append(run_pair(job_name, pair, log_level, kinds))
                on_done(runs[-1])
            return runs
        futures = [self.pool.submit(run_pair, job_name, p, log_level, kinds) for p in pairs]
        for future in futures:
            runs.append(future.result())
            on_done(runs[-1])
        return runs
