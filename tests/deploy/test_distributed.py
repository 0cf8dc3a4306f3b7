"""The book's training and evaluation on two real dagster-celery workers
(``pytest -m distributed``).

The local RabbitMQ broker, the Dagster instance on PostgreSQL (the deployment's own
dagster.yaml), the warehouse on PostgreSQL, an MLflow server, S3 for the values between
steps, two workers that share none of their folders, and the deployment's Dagster
services (a code server, the webserver, the daemon). The training runs of a book of three
pairs, launched through the webserver and started by the daemon's run queue (one run per
pair, side by side), must spread their steps over both workers and give the numbers
in-process runs give on the same data, to the last digit; a worker killed mid-step must
not lose the run, and a rerun duplicates nothing.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from dagster import DagsterEventType

from fx_assets.core.contracts import BACKTEST, BACKTEST_SUMMARY, FINAL
from fx_assets.core.domain import FEATURES
from fx_assets.core.warehouse import Warehouse
from tests.support.champions import fill_warehouse
from tests.support.dagster_api import Dagster
from tests.support.distributed import (
    BROKER,
    KNOBS,
    Databases,
    Worker,
    base_env,
    broker_up,
    dagster_home,
    deployment,
    execute_job,
    instance_env,
    mlflow_server,
    purge_queue,
    s3_env,
    s3_server,
    start_worker,
    step_workers,
)

pytestmark = [pytest.mark.distributed, pytest.mark.postgres, pytest.mark.timeout(1800)]

# About 330 feature rows: 40 test days, 150 rows before the backtest's first refit.
START, END = date(2024, 6, 1), date(2025, 9, 30)
PAIRS = ("EURUSD", "GBPUSD", "USDJPY")
# The champion's tags that carry its numbers (not run ids, times or the artifact's hash).
NUMBERS = ("family", "features", "training_cutoff", "test_pr_auc", "baseline_pr_auc", "cv_pr_auc")


def _needs(condition: bool, what: str) -> None:
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{what} (.ci/run starts it)")
        pytest.skip(what)


@contextlib.contextmanager
def environ(values: dict[str, str]) -> Iterator[None]:
    """``values`` in this process's environment for a while (the instance and settings)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass
class Outcome:
    """What a training run left in its stores."""

    champion: dict[str, str]
    probabilities: list[float]
    backtest: pd.DataFrame
    summary: pd.DataFrame


def outcome(warehouse_url: str, tracking_uri: str, home: Path, pair: str = "EURUSD") -> Outcome:
    from fx_assets.core.models import registry
    from fx_assets.core.models.champion import load_champion
    from fx_assets.core.pairs import model_name

    name = model_name(pair)
    with environ({"FX_HOME": str(home), "MLFLOW_TRACKING_URI": tracking_uri}):
        client = registry.client(tracking_uri)
        version = registry.alias_version(client, registry.CHAMPION, name=name)
        assert version is not None, f"no champion of {name}"
        champion = load_champion(client, name)
    wh = Warehouse(warehouse_url).for_pair(pair)
    final = wh.read(FINAL)
    probabilities = champion.estimator.predict_proba(final[list(FEATURES)])[:, 1]
    return Outcome(
        champion={k: version.tags.get(k, "") for k in NUMBERS},
        probabilities=[float(p) for p in probabilities],
        backtest=wh.read(BACKTEST).sort_values("feature_date").reset_index(drop=True),
        summary=wh.read(BACKTEST_SUMMARY).sort_values("strategy").reset_index(drop=True),
    )


@dataclass
class Cluster:
    tmp: Path
    env: dict[str, str]
    instance_env: dict[str, str]
    home: Path
    warehouse_url: str
    tracking_uri: str
    workers: list[Worker]
    api: Dagster

    def launch(self, pair: str = "EURUSD") -> str:
        """A pair's training run, launched in the webserver as the UI launches it: queued,
        then started by the daemon through the code server."""
        return self.api.launch("training_job", tags={"dagster/partition": pair})

    def finish(self, run_id: str) -> tuple[str, str]:
        """The run's final status, and its errors as the UI shows them."""
        status = self.api.wait(run_id, timeout=900)["status"]
        return status, self.api.errors(run_id)

    def run(self, pair: str = "EURUSD") -> tuple[str, str]:
        return self.finish(self.launch(pair))

    def run_book(self) -> dict[str, tuple[str, str]]:
        """Every pair's training run at once, as the weekly schedule asks for them."""
        launched = {pair: self.launch(pair) for pair in PAIRS}
        return {pair: self.finish(run_id) for pair, run_id in launched.items()}

    @contextlib.contextmanager
    def instance(self) -> Iterator[Any]:
        from dagster import DagsterInstance

        with environ(self.instance_env), DagsterInstance.from_config(str(self.home)) as inst:
            yield inst

    def runs(self) -> list[Any]:
        with self.instance() as inst:
            return list(inst.get_runs())


@pytest.fixture(scope="module")
def dbs() -> Iterator[Databases]:
    server = os.environ.get("FX_TEST_POSTGRES_URL")
    _needs(bool(server), "FX_TEST_POSTGRES_URL is not set")
    _needs(broker_up(), "no RabbitMQ on 127.0.0.1:5672")
    assert server is not None
    made = Databases(server)
    yield made
    made.drop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, dbs: Databases) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("distributed")
    purge_queue()
    dagster_db, warehouse_db, mlflow_db = (dbs.create(x) for x in ("dagster", "wh", "mlflow"))
    warehouse_url = dbs.url(warehouse_db)
    for pair in PAIRS:
        fill_warehouse(warehouse_url, START, END, pair)
    home = dagster_home(tmp / "orchestrator" / "dagster")
    pg = instance_env(dbs, dagster_db)
    book(pg, home)
    with (
        s3_server() as s3,
        mlflow_server(dbs.url(mlflow_db, "postgresql+psycopg2"), tmp / "mlflow") as tracking,
    ):
        env = base_env() | KNOBS | pg | s3_env(s3)
        env |= {
            "FX_EXECUTOR": "celery",
            "FX_CELERY_BROKER_URL": BROKER,
            "FX_WAREHOUSE_URL": warehouse_url,
            "MLFLOW_TRACKING_URI": tracking,
        }
        workers = [start_worker(name, tmp / name, env) for name in ("w1", "w2")]
        orchestrator = {
            "DAGSTER_HOME": str(home),
            "FX_HOME": str(tmp / "orchestrator" / "fx"),
            "TMPDIR": str(tmp / "orchestrator"),
        }
        env |= orchestrator
        try:
            with deployment(env, tmp / "orchestrator") as api:
                yield Cluster(tmp, env, pg, home, warehouse_url, tracking, workers, api)
        finally:
            for w in workers:
                w.process.stop()


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, dbs: Databases) -> dict[str, Outcome]:
    """The same trainings in one process, pair after pair: the default executor, its own
    stores."""
    tmp = tmp_path_factory.mktemp("in_process")
    warehouse_url = dbs.url(dbs.create("ref"))
    for pair in PAIRS:
        fill_warehouse(warehouse_url, START, END, pair)
    tracking = f"sqlite:///{tmp / 'fx' / 'mlflow.db'}"
    home = dagster_home(tmp / "dagster")
    book({}, home)
    env = base_env() | KNOBS
    env |= {
        "FX_HOME": str(tmp / "fx"),
        "DAGSTER_HOME": str(home),  # no DAGSTER_PG_*: SQLite
        "FX_WAREHOUSE_URL": warehouse_url,
    }
    for pair in PAIRS:
        done = execute_job("training_job", env, tmp, f"run-{pair}.log", pair=pair)
        assert done.returncode == 0, done.stdout[-4000:]
    return {pair: outcome(warehouse_url, tracking, tmp / "fx", pair) for pair in PAIRS}


def book(instance_env: dict[str, str], home: Path) -> None:
    """The book's pairs as the instance's partitions (the bootstrap sensor's job)."""
    from dagster import DagsterInstance

    from fx_assets.defs.ingestion.partitions import register_pairs
    from fx_assets.defs.pools import ensure_pools

    with (
        environ({**instance_env, "DAGSTER_HOME": str(home)}),
        DagsterInstance.from_config(str(home)) as inst,
    ):
        register_pairs(inst, PAIRS)
        ensure_pools(inst)


def test_the_books_steps_run_on_both_workers_and_give_the_in_process_numbers(
    cluster: Cluster, reference: dict[str, Outcome]
) -> None:
    for pair, (status, errors) in cluster.run_book().items():
        assert status == "SUCCESS", f"{pair}: {errors[-4000:]}"
    runs = cluster.runs()
    assert sorted(r.tags["dagster/partition"] for r in runs) == sorted(PAIRS)
    assert all(r.status.value == "SUCCESS" for r in runs)
    placed: dict[str, list[str]] = {}
    with cluster.instance() as inst:
        for run in runs:
            # Queued by the webserver, started by the daemon's queue (not by the test).
            kinds = {e.dagster_event_type for e in inst.all_logs(run.run_id)}
            assert {DagsterEventType.RUN_ENQUEUED, DagsterEventType.RUN_STARTING} <= kinds
            for step, nodes in step_workers(inst, run.run_id).items():
                placed.setdefault(step, []).extend(nodes)
    nodes = {w.node() for w in cluster.workers}
    assert {"model_candidates", "challenger_model", "fx_backtest"} <= set(placed)
    assert {n for ws in placed.values() for n in ws} == nodes, placed
    for pair in PAIRS:
        got = outcome(cluster.warehouse_url, cluster.tracking_uri, cluster.tmp / "reader", pair)
        want = reference[pair]
        assert got.champion == want.champion, pair
        assert got.probabilities == want.probabilities, pair
        pd.testing.assert_frame_equal(got.backtest, want.backtest, check_exact=True)
        pd.testing.assert_frame_equal(got.summary, want.summary, check_exact=True)


def versions_of(cluster: Cluster, run_id: str) -> list[Any]:
    """The registered versions a Dagster run made."""
    from fx_assets.core.models import registry

    with environ({"FX_HOME": str(cluster.tmp / "reader")}):
        client = registry.client(cluster.tracking_uri)
        found = client.search_model_versions(f"name='{registry.MODEL_NAME}'")
    return [v for v in found if v.tags.get(registry.TAG_DAGSTER_RUN_ID) == run_id]


def _in_the_tuning(cluster: Cluster, timeout: float = 600) -> tuple[str, Worker]:
    """A EUR/USD training run, launched, and the worker one second into its tuning (the
    longest step): the run's id and that worker."""
    run_id = cluster.launch()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with cluster.instance() as inst:
            placed = step_workers(inst, run_id)
        if "challenger_model" in placed:
            time.sleep(1)
            (worker,) = [w for w in cluster.workers if w.node() == placed["challenger_model"][0]]
            return run_id, worker
        time.sleep(0.2)
    raise AssertionError(f"no worker started the tuning in {timeout:.0f} s")


def test_a_worker_killed_mid_step_loses_nothing_and_a_rerun_duplicates_nothing(
    cluster: Cluster, reference: dict[str, Outcome]
) -> None:
    want = reference["EURUSD"]
    run_id, victim = _in_the_tuning(cluster)
    node = victim.node()
    # Killed like a lost container, all at once.
    assert victim.kill(), "the worker was not running"
    status, errors = cluster.finish(run_id)
    with cluster.instance() as inst:
        placed = step_workers(inst, run_id)
        # Its broker connection gone, the worker's unacknowledged step went to the other.
        (survivor,) = [w.node() for w in cluster.workers if w.node() != node]
        assert placed["challenger_model"] == [node, survivor], placed
        assert status == "SUCCESS", errors
        done = [
            e.step_key
            for e in inst.all_logs(run_id)
            if e.is_dagster_event and e.dagster_event.event_type_value == "STEP_SUCCESS"
        ]
    assert done.count("challenger_model") == 1
    # The killed attempt registered nothing: the run's challenger is one model version.
    assert len(versions_of(cluster, run_id)) == 1
    # A rerun on the surviving worker: every table holds each key once, the same numbers.
    status, errors = cluster.run()
    assert status == "SUCCESS", errors
    got = outcome(cluster.warehouse_url, cluster.tracking_uri, cluster.tmp / "reader")
    assert not got.backtest.duplicated("feature_date").any()
    assert not got.summary.duplicated("strategy").any()
    pd.testing.assert_frame_equal(got.backtest, want.backtest, check_exact=True)
    pd.testing.assert_frame_equal(got.summary, want.summary, check_exact=True)
    assert got.champion == want.champion


def test_a_step_whose_process_dies_fails_the_run_in_a_line_naming_it(
    cluster: Cluster, reference: dict[str, Outcome]
) -> None:
    want = reference["EURUSD"]
    run_id, worker = _in_the_tuning(cluster)
    # The step's own process, as the OOM killer would: not redelivered (it could loop).
    assert worker.kill_pool_process(), "no step was running"
    status, _ = cluster.finish(run_id)
    with cluster.instance() as inst:
        run = inst.get_run_by_id(run_id)
        # What the UI shows of the failure: the errors the run's events carry.
        failures = []
        for e in inst.all_logs(run_id):
            data = e.dagster_event.event_specific_data if e.is_dagster_event else None
            error = getattr(data, "error", None)
            failures.append(f"{e.message}\n{error.to_string() if error else ''}")
    assert status == "FAILURE" == run.status.value
    named = {ln for f in failures for ln in f.splitlines() if ln.startswith("[challenger_model]")}
    assert len(named) == 1, "\n".join(failures)
    assert "WorkerLostError" in named.pop()
    # The worker lives on: a rerun completes and duplicates nothing.
    status, errors = cluster.run()
    assert status == "SUCCESS", errors
    got = outcome(cluster.warehouse_url, cluster.tracking_uri, cluster.tmp / "reader")
    assert not got.backtest.duplicated("feature_date").any()
    pd.testing.assert_frame_equal(got.backtest, want.backtest, check_exact=True)
    assert got.champion == want.champion
