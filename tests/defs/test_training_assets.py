"""The model assets end to end, per pair: ECB warehouse, real MLflow SQLite store, a book
of two pairs.

One module-level setup (the costly part): ETL over a short ECB range for EUR/USD, and
GBP/USD's ``fx_final`` written from a simulated walk (the sources give only EUR/USD on
this branch); the training assets materialized for both pairs, EUR/USD's a second time
on the same data through the code location's ``training_job`` (its partition), then a
GBP/USD training whose challenger fails. The tests read what those runs left in the
warehouse and the registry.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    ExecuteInProcessResult,
    build_schedule_context,
    instance_for_test,
)

from fx_assets.core.contracts import FINAL, TEST, TRAIN
from fx_assets.core.domain import FEATURES, TARGET
from fx_assets.core.models import registry
from fx_assets.core.models.loader import load_estimator
from fx_assets.core.pairs import Pair
from fx_assets.core.reports import PromotionReport
from fx_assets.core.training.splits import known_rows
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.resources import (
    AlertsResource,
    MarketDataResource,
    MlflowResource,
    TrainingResource,
    WarehouseResource,
    mlflow_parent_run,
)
from fx_assets.defs.training.schedules import TRAINING_CRON, training_job, training_schedule
from tests.conftest import FX_VARS
from tests.support.code_location import QUIET, checks_of, load, materialize_groups, register_pairs
from tests.support.frames import simulated_final

# The years 2024-2025 from 1 August 2024: about 355 fixings, 60 of them warm-up rows,
# then 60 test days, a gap and 230+ training days.
START, FIRST_YEAR, LAST_YEAR = "2024-08-01", "2024", "2025"
# The per-pair families only: the pooled one has its own test (test_pooled_training.py).
SETTINGS = {
    "test_days": 60,
    "gap_days": 1,
    "cv_folds": 2,
    "tuning_budget": 2,
    "pooled_candidate": False,
}
ENV = {
    "FX_TEST_DAYS": "60",
    "FX_GAP_DAYS": "1",
    "FX_CV_FOLDS": "2",
    "FX_TUNING_BUDGET": "2",
    "FX_POOLED_CANDIDATE": "false",
}
EURUSD, GBPUSD = "EURUSD", "GBPUSD"
EUR_MODEL, GBP_MODEL = Pair.parse(EURUSD).model_name, Pair.parse(GBPUSD).model_name


@dataclass
class Trained:
    home: Path
    url: str
    uri: str
    first: ExecuteInProcessResult  # EUR/USD's first training
    second: ExecuteInProcessResult  # EUR/USD's second, through training_job
    gbp: ExecuteInProcessResult  # GBP/USD's first
    gbp_failed: ExecuteInProcessResult  # GBP/USD's second, whose challenger fails
    registry_before_failure: dict[str, list[tuple[str, tuple[str, ...], str | None]]]
    final_rows: int

    def client(self):  # type: ignore[no-untyped-def]
        return registry.client(self.uri)

    def resources(self, **training: int) -> dict[str, object]:
        return {
            "warehouse": WarehouseResource(url=self.url),
            "market_data": MarketDataResource(source="ecb", start_date=START),
            "training": TrainingResource(**{**SETTINGS, **training}),
            "tracking_store": MlflowResource(tracking_uri=self.uri),
            "mlflow": mlflow_parent_run(self.uri),
            "alerts": AlertsResource(),  # no channel: a promotion alerts nobody here
        }


def _reload_definitions() -> None:
    import fx_assets.definitions

    importlib.reload(fx_assets.definitions)


def _registry_state(client) -> dict[str, list[tuple[str, tuple[str, ...], str | None]]]:  # type: ignore[no-untyped-def]
    """Every pair's versions with their aliases and lifecycle: what a failure must not move."""
    return {
        name: [
            (v.version, v.aliases, v.lifecycle) for v in registry.list_versions(client, name=name)
        ]
        for name in (EUR_MODEL, GBP_MODEL)
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trained]:
    mp = pytest.MonkeyPatch()
    home = tmp_path_factory.mktemp("training") / "fxhome"
    (home / "dagster").mkdir(parents=True)
    (home / "dagster" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    for var in FX_VARS:
        mp.delenv(var, raising=False)
    mp.setenv("FX_HOME", str(home))
    mp.setenv("DAGSTER_HOME", str(home / "dagster"))
    for var, value in ENV.items():
        mp.setenv(var, value)
    url, uri = f"sqlite:///{home / 'warehouse.db'}", f"sqlite:///{home / 'mlflow.db'}"
    state = Trained(home, url, uri, *([None] * 4), {}, 0)  # type: ignore[arg-type]
    try:
        etl = materialize_groups(
            "ingestion", "features", resources=state.resources(), years=(FIRST_YEAR, LAST_YEAR)
        )
        assert etl.success
        state.final_rows = Warehouse(url).count(FINAL, pair=EURUSD)
        # The sources give EUR/USD only on this branch: GBP/USD's modelling rows by hand.
        Warehouse(url).for_pair(GBPUSD).replace_all(FINAL, simulated_final(400, seed=7))
        instance = DagsterInstance.get()
        state.first = materialize_groups(
            "training", resources=state.resources(), instance=instance, pairs=(EURUSD,)
        )
        state.gbp = materialize_groups(
            "training", resources=state.resources(), instance=instance, pairs=(GBPUSD,)
        )
        # The second weekly training of EUR/USD, on the same data: the code location's
        # training_job (training and evaluation) on the pair's partition.
        _reload_definitions()
        register_pairs(instance, (EURUSD, GBPUSD))
        state.second = (
            load()
            .resolve_job_def(training_job.name)
            .execute_in_process(partition_key=EURUSD, instance=instance, run_config=QUIET)
        )
        # GBP/USD again, with a budget its tuning refuses: its challenger step fails.
        state.registry_before_failure = _registry_state(state.client())
        state.gbp_failed = materialize_groups(
            "training",
            resources=state.resources(tuning_budget=0),
            instance=instance,
            pairs=(GBPUSD,),
            raise_on_error=False,
        )
        yield state
    finally:
        mp.undo()
        _reload_definitions()


def _runs(client, parent_id: str, kind: str):  # type: ignore[no-untyped-def]
    exp = client.get_experiment_by_name(registry.EXPERIMENT_NAME)
    return client.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_id}' and tags.`fx.kind` = '{kind}'",
    )


def _parent(client, dagster_run_id: str):  # type: ignore[no-untyped-def]
    exp = client.get_experiment_by_name(registry.EXPERIMENT_NAME)
    found = client.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.dagster_run_id = '{dagster_run_id}' and tags.`fx.kind` = 'training'",
    )
    assert len(found) == 1
    return found[0]


def test_first_training_succeeds_with_every_check_passing(trained: Trained) -> None:
    for result in (trained.first, trained.gbp):
        assert result.success
        checks = result.get_asset_check_evaluations()
        assert {c.check_name for c in checks} == {
            k.name for c in checks_of("training") for k in c.check_keys
        }
        assert all(c.passed for c in checks)


def test_split_tables_in_the_warehouse(trained: Trained) -> None:
    wh = Warehouse(trained.url).for_pair(EURUSD)
    train, test, final = wh.read(TRAIN), wh.read(TEST), wh.read(FINAL)
    known = final[final[TARGET].notna()]
    assert len(test) == 60
    assert test["date"].tolist() == known["date"].tail(60).tolist()
    assert len(train) == len(known) - 60 - 1
    assert train["date"].max() < known["date"].iloc[-61] < test["date"].min()  # the gap row
    assert wh.count(FINAL) == trained.final_rows  # training never writes upstream
    meta = trained.first.asset_materializations_for_node("fx_split")
    by_key = {m.asset_key.to_user_string(): m.metadata for m in meta}
    assert by_key[TRAIN.name]["dagster/row_count"].value == len(train)
    assert by_key[TRAIN.name]["training_cutoff"].value == str(train["date"].max().date())
    assert by_key[TRAIN.name]["pair"].value == EURUSD
    # Each pair's split is its own rows: GBP/USD's test days are its newest known days.
    gbp = Warehouse(trained.url).for_pair(GBPUSD)
    gbp_known = known_rows(gbp.read(FINAL))
    assert gbp.read(TEST)["date"].tolist() == gbp_known["date"].tail(60).tolist()
    assert Warehouse(trained.url).pairs(TRAIN) == [EURUSD, GBPUSD]


def test_registry_has_a_champion_with_the_contract_tags(trained: Trained) -> None:
    client = trained.client()
    champion = registry.alias_version(client, registry.CHAMPION, name=EUR_MODEL)
    assert champion is not None and champion.version == "1"
    assert champion.name == "eur_usd_direction" and champion.model_uri.endswith("_direction/1")
    assert champion.lifecycle == "champion"
    assert champion.tags[registry.TAG_FEATURES] == ",".join(FEATURES)
    assert champion.tags[registry.TAG_PAIR] == EURUSD
    wh = Warehouse(trained.url).for_pair(EURUSD)
    train, test = wh.read(TRAIN), wh.read(TEST)
    assert champion.tags[registry.TAG_TRAINING_CUTOFF] == str(train["date"].max().date())
    assert float(champion.tags[registry.TAG_BASELINE_PR_AUC]) == pytest.approx(
        test[TARGET].astype(int).mean(), abs=1e-6
    )
    assert 0 < float(champion.tags[registry.TAG_TEST_PR_AUC]) <= 1
    assert champion.tags[registry.TAG_PROMOTED_AT]
    assert champion.tags[registry.TAG_FAMILY] in {"logistic_regression", "random_forest", "xgboost"}
    # The model: a signature whose inputs are exactly FEATURES, in order, and an input example.
    info = mlflow.models.get_model_info(champion.model_uri)
    assert registry.model_features(champion.model_uri) == tuple(FEATURES)
    assert {c.type.name for c in info.signature.inputs.inputs} == {"double"}
    assert info.saved_input_example_info is not None
    model = load_estimator(trained.client(), champion.version, EUR_MODEL)
    assert list(model.feature_names_in_) == FEATURES
    assert model.predict_proba(test[FEATURES].astype(float)).shape == (len(test), 2)


def test_each_pair_has_its_own_registered_model_and_champion(trained: Trained) -> None:
    client = trained.client()
    gbp = registry.alias_version(client, registry.CHAMPION, name=GBP_MODEL)
    assert gbp is not None and (gbp.name, gbp.version) == ("gbp_usd_direction", "1")
    assert gbp.tags[registry.TAG_PAIR] == GBPUSD
    gbp_train = Warehouse(trained.url).for_pair(GBPUSD).read(TRAIN)
    assert gbp.tags[registry.TAG_TRAINING_CUTOFF] == str(gbp_train["date"].max().date())
    # GBP/USD's first champion was promoted against no champion of its own, though
    # EUR/USD had one already.
    (decision,) = [
        m.metadata for m in trained.gbp.asset_materializations_for_node("champion_model")
    ]
    report = PromotionReport.from_metadata({k: v.value for k, v in decision.items()})
    assert report.pair == GBPUSD and report.decision == "promoted"
    assert report.previous_champion_version == "" and "no champion yet" in report.reason


def test_a_failing_challenger_touches_no_champion(trained: Trained) -> None:
    result = trained.gbp_failed
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "challenger_model"
    message = failure.step_failure_data.error.message
    assert f"{GBPUSD}: tuning budget must be at least 1" in message
    assert not result.asset_materializations_for_node("champion_model")
    # Neither GBP/USD's own champion nor EUR/USD's moved; no version was registered.
    assert _registry_state(trained.client()) == trained.registry_before_failure
    ((version, aliases, lifecycle),) = trained.registry_before_failure[GBP_MODEL]
    assert (version, lifecycle) == ("1", "champion") and registry.CHAMPION in aliases


def test_mlflow_runs_nest_under_the_dagster_run(trained: Trained) -> None:
    client = trained.client()
    parent = _parent(client, trained.first.run_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags[registry.TAG_PAIR] == EURUSD

    candidates = _runs(client, parent.info.run_id, "candidate")
    assert sorted(r.data.tags[registry.TAG_FAMILY] for r in candidates) == [
        "logistic_regression",
        "random_forest",
        "xgboost",
    ]
    for run in candidates:
        metrics = run.data.metrics
        assert {"cv_pr_auc_mean", "cv_pr_auc_std", "cv_baseline_pr_auc_mean"} <= set(metrics)
        assert {f"cv_pr_auc_fold_{i}" for i in range(2)} <= set(metrics)
        assert run.data.params["cv_folds"] == "2" and run.data.params["cv_gap"] == "1"

    (challenger,) = _runs(client, parent.info.run_id, "challenger")
    metrics = challenger.data.metrics
    for name in ("pr_auc", "roc_auc", "accuracy", "brier", "baseline_pr_auc"):
        assert f"test_{name}" in metrics
    assert metrics["cv_pr_auc_mean"] > 0
    assert challenger.data.tags[registry.TAG_FEATURES] == ",".join(FEATURES)
    datasets = {(d.dataset.name, d.tags[0].value) for d in challenger.inputs.dataset_inputs}
    assert datasets == {("eur_usd_train", "train"), ("eur_usd_test", "test")}
    trials = json.loads(
        Path(
            mlflow.artifacts.download_artifacts(
                run_id=challenger.info.run_id,
                artifact_path="tuning_trials.json",
                tracking_uri=trained.uri,
            )
        ).read_text()
    )
    assert len(trials["trials"]) == 2  # the tuning budget, on train only
    train_rows = Warehouse(trained.url).count(TRAIN, pair=EURUSD)
    assert challenger.data.params["train_rows"] == str(train_rows)

    (decision,) = _runs(client, parent.info.run_id, "decision")
    assert decision.data.params["outcome"] == "promoted"
    assert "no champion yet" in decision.data.params["reason"]
    assert decision.data.metrics["challenger_pr_auc"] == pytest.approx(metrics["test_pr_auc"])
    assert decision.data.metrics["baseline_pr_auc"] == pytest.approx(
        metrics["test_baseline_pr_auc"]
    )
    # One experiment for the book: every run of a training says its pair.
    for kind in ("candidate", "trial", "challenger", "decision"):
        for run in _runs(client, parent.info.run_id, kind):
            assert run.data.tags[registry.TAG_PAIR] == EURUSD
    gbp_parent = _parent(client, trained.gbp.run_id)
    assert gbp_parent.info.experiment_id == parent.info.experiment_id
    (gbp_challenger,) = _runs(client, gbp_parent.info.run_id, "challenger")
    assert gbp_challenger.data.tags[registry.TAG_PAIR] == GBPUSD
    assert {d.dataset.name for d in gbp_challenger.inputs.dataset_inputs} == {
        "gbp_usd_train",
        "gbp_usd_test",
    }


def test_steps_that_log_nothing_to_mlflow_open_no_parent_run(trained: Trained) -> None:
    # The training job's hook needs the `mlflow` resource in every step; the split and
    # its checks never log to MLflow, so a run of them alone starts no parent run (on
    # Celery workers every step used to find, resume and end it: ~11 requests a step).
    job = load().resolve_job_def(training_job.name)
    split = job.execute_in_process(
        partition_key=EURUSD,
        instance=DagsterInstance.get(),
        run_config=QUIET,
        asset_selection=[AssetKey(TRAIN.name), AssetKey(TEST.name)],
    )
    assert split.success
    assert {e.step_key for e in split.get_step_success_events()} == {"fx_split", "fx_split_checks"}
    client = trained.client()
    exp = client.get_experiment_by_name(registry.EXPERIMENT_NAME)
    assert client.search_runs([exp.experiment_id], f"tags.dagster_run_id = '{split.run_id}'") == []
    # The whole job's parent run (the second training) is ended, finished, all the same.
    assert _parent(client, trained.second.run_id).info.status == "FINISHED"


def test_second_training_reproduces_the_metrics_and_does_not_promote(trained: Trained) -> None:
    assert trained.second.success
    client = trained.client()
    versions = {v.version: v for v in registry.list_versions(client, name=EUR_MODEL)}
    assert set(versions) == {"1", "2"}
    first, second = versions["1"], versions["2"]
    assert first.aliases == (registry.CHAMPION,)
    assert second.aliases == (registry.CHALLENGER,)
    assert first.lifecycle == "champion" and second.lifecycle == "rejected"
    for tag in (registry.TAG_TEST_PR_AUC, registry.TAG_CV_PR_AUC, registry.TAG_FAMILY):
        assert first.tags[tag] == second.tags[tag]
    assert "not better" in second.tags[registry.TAG_DECISION]

    # Every candidate's CV scores are identical across the two trainings.
    def candidate_metrics(dagster_run_id: str) -> dict[str, dict[str, float]]:
        parent = _parent(client, dagster_run_id)
        return {
            r.data.tags[registry.TAG_FAMILY]: r.data.metrics
            for r in _runs(client, parent.info.run_id, "candidate")
        }

    second_run_id = second.tags[registry.TAG_DAGSTER_RUN_ID]
    assert second_run_id == trained.second.run_id != trained.first.run_id
    assert candidate_metrics(trained.first.run_id) == candidate_metrics(second_run_id)
    (decision,) = _runs(client, _parent(client, second_run_id).info.run_id, "decision")
    assert decision.data.params["outcome"] == "kept champion"
    assert decision.data.metrics["challenger_pr_auc"] == decision.data.metrics["champion_pr_auc"]
    # The job's run is the pair's partition; its backtest skipped a history too short.
    assert trained.second.dagster_run.tags["dagster/partition"] == EURUSD
    assert not trained.second.asset_materializations_for_node("fx_backtest")
    # GBP/USD's model saw none of it.
    assert [v.version for v in registry.list_versions(client, name=GBP_MODEL)] == ["1"]


def test_too_little_history_fails_in_one_line_and_writes_nothing(trained: Trained) -> None:
    wh = Warehouse(trained.url)
    before = {t: wh.read(t) for t in (FINAL, TRAIN, TEST)}
    result = materialize_groups(
        "training", resources=trained.resources(test_days=5000), raise_on_error=False
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    message = failure.step_failure_data.error.message
    assert f"{EURUSD}: {FINAL.name} has" in message and "needs at least 5151" in message
    for table, frame in before.items():
        pd.testing.assert_frame_equal(wh.read(table), frame)
    assert not result.asset_materializations_for_node("model_candidates")


def test_training_job_and_sunday_schedule_per_pair() -> None:
    from dagster._utils.schedules import cron_string_iterator

    assert training_schedule.job_name == training_job.name
    assert training_schedule.execution_timezone == "UTC"
    ticks = cron_string_iterator(datetime(2024, 3, 1, tzinfo=UTC).timestamp(), TRAINING_CRON, "UTC")
    days = {next(ticks).strftime("%a") for _ in range(6)}
    assert days == {"Sun"}
    # One run per registered pair, each keyed by its week and pair; none before a pair.
    with instance_for_test() as instance:
        sunday = datetime(2024, 3, 3, 7, tzinfo=UTC)
        # With the code location: the requests' partitions are resolved against the job's.
        repository = load().get_repository_def()

        def tick():  # type: ignore[no-untyped-def]
            return training_schedule.evaluate_tick(
                build_schedule_context(
                    instance=instance,
                    scheduled_execution_time=sunday,
                    repository_def=repository,
                )
            )

        assert tick().skip_message == "no pair registered yet"
        register_pairs(instance, (EURUSD, GBPUSD))
        requests = tick().run_requests
    assert [(r.partition_key, r.run_key) for r in requests] == [
        (EURUSD, "2024-03-03:EURUSD"),
        (GBPUSD, "2024-03-03:GBPUSD"),
    ]
    assert all(r.tags["fx/pair"] == r.partition_key for r in requests)
