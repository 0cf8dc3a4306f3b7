"""The concurrency pools of the book's steps: model fits in ``training``, walk-forward
refits in ``backtest``; each runs at most its limit of steps at once across all runs and
workers (dagster.yaml's ``concurrency: pools:``, or ``dagster instance concurrency set``).
"""

from __future__ import annotations

from dagster import DagsterInstance

TRAINING_POOL = "training"
BACKTEST_POOL = "backtest"
POOLS = (TRAINING_POOL, BACKTEST_POOL)


def ensure_pools(instance: DagsterInstance) -> list[str]:
    """Create the pools the instance does not know yet, at its default limit; the new ones.

    Called once before runs start (the bootstrap sensor's tick, ``fx up``, ``fx run``):
    Dagster 1.13 creates a pool at a step's first use, and on PostgreSQL two runs doing
    that at once make one of them fail (a duplicate key, then an aborted transaction), as
    a whole book's first runs do. A limit set by an operator is never touched.
    """
    storage = instance.event_log_storage
    known = storage.get_concurrency_keys()
    new = [pool for pool in POOLS if pool not in known]
    for pool in new:
        storage.initialize_concurrency_limit_to_default(pool)
    return new
