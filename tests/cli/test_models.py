"""``fx models``, ``fx promote``, ``fx rollback`` on a real MLflow store, per pair.

Versions are registered through the same ``tracking.log_challenger`` the training asset
uses, with small logistic regressions on ECB rows, so no Dagster run is needed here
(GBP/USD's one version is fitted on the same rows: the commands only need a second
registered model).
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import mlflow
import pandas as pd
import pytest
from dagster import AssetCheckEvaluation, AssetSelection, DagsterInstance, materialize
from pytest_httpserver import HTTPServer

from fx_assets.cli.main import main
from fx_assets.core.contracts import TEST, TRAIN
from fx_assets.core.domain import FEATURES, TARGET
from fx_assets.core.features import build_features, build_final
from fx_assets.core.ingestion.sources import EcbSource
from fx_assets.core.models import registry
from fx_assets.core.pairs import Pair
from fx_assets.core.training import tracking
from fx_assets.core.training.modeling import make_estimator, pr_auc, probability_up
from fx_assets.core.training.splits import split_train_test
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.resources import (
    AlertsResource,
    MlflowResource,
    TrainingResource,
    WarehouseResource,
    mlflow_parent_run,
)
from fx_assets.defs.training.checks import champion_usable
from tests.conftest import FX_VARS
from tests.support.code_location import QUIET, in_groups, register_pairs

EURUSD, GBPUSD = "EURUSD", "GBPUSD"
EUR_MODEL, GBP_MODEL = Pair.parse(EURUSD).model_name, Pair.parse(GBPUSD).model_name


def _register(
    train: pd.DataFrame,
    test: pd.DataFrame,
    family: str,
    features: list[str],
    pair: str = EURUSD,
) -> str:
    """Fit ``family`` (small sizes) on ``features`` and register it as training does."""
    params = {
        "logistic_regression": {"C": 0.1},
        "random_forest": {"n_estimators": 20, "max_depth": 3},
        "xgboost": {"n_estimators": 20, "max_depth": 2},
    }[family]
    y = train[TARGET].astype(int)
    model = make_estimator(family, params).fit(train[features].astype(float), y)
    p = probability_up(model, test[features].astype(float))
    tags = {
        registry.TAG_FEATURES: ",".join(features),
        registry.TAG_TRAINING_CUTOFF: str(train["date"].max().date()),
        registry.TAG_TEST_PR_AUC: f"{pr_auc(test[TARGET].astype(int), p):.6f}",
        registry.TAG_BASELINE_PR_AUC: f"{test[TARGET].astype(int).mean():.6f}",
        registry.TAG_FAMILY: family,
    }
    registry.configure_mlflow()
    with mlflow.start_run():
        version = tracking.log_challenger(
            model, features=features, train=train, test=test, target=TARGET, tags=tags, pair=pair
        )
    return version.version


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with one version per family and one on an older feature list (built once)."""
    home = tmp_path_factory.mktemp("registry")
    final = build_final(build_features(EcbSource().fetch(date(2022, 1, 3), date(2023, 12, 29))))
    split = split_train_test(final, test_days=100, gap_days=1, min_train=150)
    with pytest.MonkeyPatch.context() as mp:
        for var in FX_VARS:
            mp.delenv(var, raising=False)
        mp.setenv("FX_HOME", str(home))
        # One version per family: the skops format must round-trip each of them.
        for family in ("logistic_regression", "random_forest", "xgboost"):
            _register(split.train, split.test, family, FEATURES)
        _register(split.train, split.test, "logistic_regression", FEATURES[:-1])
        _register(split.train, split.test, "logistic_regression", FEATURES, pair=GBPUSD)
    wh = Warehouse(f"sqlite:///{home / 'warehouse.db'}")
    for pair in (EURUSD, GBPUSD):
        wh.for_pair(pair).replace_tables({TRAIN: split.train, TEST: split.test})
    wh.dispose()  # the last connection checkpoints the WAL into the file copied below
    return home


@pytest.fixture
def store(template: Path, fx_home: Path) -> dict[str, str]:
    """A fresh copy of the template's registry and warehouse in this test's FX_HOME.

    The copied store still finds the model artifacts in the template's folder.
    """
    for name in ("mlflow.db", "warehouse.db"):
        shutil.copy(template / name, fx_home / name)
    return {
        "a": "1",
        "b": "2",
        "c": "3",
        "old": "4",
        "url": f"sqlite:///{fx_home / 'warehouse.db'}",
    }


def fx(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _champion(name: str = EUR_MODEL) -> str | None:
    found = registry.alias_version(registry.client(), registry.CHAMPION, name=name)
    return found.version if found else None


def _lifecycle(name: str = EUR_MODEL) -> dict[str, str | None]:
    return {v.version: v.lifecycle for v in registry.list_versions(registry.client(), name=name)}


def _decisions(pair: str = EURUSD) -> list[dict[str, str]]:
    client = registry.client()
    exp = client.get_experiment_by_name(registry.EXPERIMENT_NAME)
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.`fx.kind` = 'decision' and tags.pair = '{pair}'",
        order_by=["attributes.start_time ASC"],
    )
    return [{**r.data.params, **{k: str(v) for k, v in r.data.metrics.items()}} for r in runs]


def test_promote_and_rollback_move_the_alias_and_log_it(
    store: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, c = store["a"], store["b"], store["c"]

    code, _, err = fx(capsys, "rollback")
    assert code == 1 and err.count("\n") == 1 and "no champion to roll back" in err

    code, out, _ = fx(capsys, "promote", a, "--reason", "first release")
    assert code == 0 and f"v{a} is the champion" in out and "test PR-AUC now" in out
    assert _champion() == a and _lifecycle()[a] == "champion"

    code, _, err = fx(capsys, "rollback")
    assert code == 1 and err.count("\n") == 1
    assert f"nothing to roll back to: no archived champion before version {a}" in err

    assert fx(capsys, "promote", b)[0] == 0
    assert fx(capsys, "promote", c)[0] == 0
    assert _champion() == c
    assert _lifecycle()[a] == _lifecycle()[b] == "archived"

    code, out, _ = fx(capsys, "rollback", "--reason", "bad week")
    assert code == 0 and f"v{b} is the champion again" in out
    assert _champion() == b and _lifecycle()[c] == "rejected" and _lifecycle()[b] == "champion"

    assert fx(capsys, "rollback")[0] == 0  # one further back, not back to c
    assert _champion() == a and _lifecycle()[b] == "rejected"
    code, _, err = fx(capsys, "rollback")
    assert code == 1 and "nothing to roll back to" in err

    decisions = _decisions()
    assert [d["kind"] for d in decisions] == ["manual", "manual", "manual", "rollback", "rollback"]
    assert [d["challenger_version"] for d in decisions] == [a, b, c, b, a]
    first, rollback = decisions[0], decisions[3]
    assert first["reason"] == "manual promotion (fx promote): first release"
    assert "champion_version" not in first  # there was none
    assert float(first["challenger_pr_auc"]) > 0 and float(first["baseline_pr_auc"]) > 0
    assert rollback["reason"] == "rollback (fx rollback): bad week"
    assert rollback["champion_version"] == c and "champion_pr_auc" in rollback
    # EUR/USD's commands never moved GBP/USD's model.
    assert _lifecycle(GBP_MODEL) == {"1": "challenger"} and _champion(GBP_MODEL) is None


def test_pair_commands_act_on_that_pairs_model_only(
    store: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert fx(capsys, "promote", store["a"])[0] == 0
    code, out, _ = fx(capsys, "models", "--pair", "gbp/usd")
    assert code == 0
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(rows) == {"1"} and "challenger" in rows["1"]

    code, out, _ = fx(capsys, "promote", "1", "--pair", GBPUSD, "--reason", "first GBP")
    assert code == 0 and f"{GBP_MODEL} v1 is the champion" in out and "test PR-AUC now" in out
    assert _champion(GBP_MODEL) == "1" and _champion(EUR_MODEL) == store["a"]
    (decision,) = _decisions(GBPUSD)
    assert decision["reason"] == "manual promotion (fx promote): first GBP"
    code, _, err = fx(capsys, "rollback", "--pair", GBPUSD)
    assert code == 1 and "no archived champion before version 1" in err
    code, _, err = fx(capsys, "promote", "9", "--pair", GBPUSD)
    assert code == 1 and f"{GBP_MODEL} has no version '9'" in err
    assert _champion(EUR_MODEL) == store["a"] and len(_decisions(EURUSD)) == 1

    code, out, _ = fx(capsys, "models", "--pair", "USDJPY")
    assert code == 0 and "no version of usd_jpy_direction is registered yet" in out
    with pytest.raises(SystemExit):
        fx(capsys, "models", "--pair", "EURO")
    assert "'EURO' is not a currency pair" in capsys.readouterr().err


def test_promote_refuses_unknown_current_and_incompatible_versions(
    store: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = fx(capsys, "promote", "99")
    assert code == 1 and "has no version '99'" in err and "fx models" in err
    assert fx(capsys, "promote", store["a"])[0] == 0
    code, _, err = fx(capsys, "promote", store["a"])
    assert code == 1 and "already the champion" in err
    code, _, err = fx(capsys, "promote", store["old"])
    assert code == 1 and "signature does not match" in err
    assert _champion() == store["a"]


def test_models_lists_versions_with_aliases_lifecycle_and_scores(
    store: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    fx(capsys, "promote", store["b"])
    code, out, _ = fx(capsys, "models")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["version", "aliases", "lifecycle", "family"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {store[k] for k in ("a", "b", "c", "old")}
    assert "champion" in rows[store["b"]] and "challenger" in rows[store["old"]]
    test_pr_auc = registry.get_version(registry.client(), store["b"]).tags["test_pr_auc"]
    assert f"{float(test_pr_auc):.4f}" in rows[store["b"]]


def test_models_shows_the_decision_lift_with_its_interval(
    store: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    registry.set_decision_interval(
        registry.client(),
        store["c"],
        policy="significant",
        lift=0.004,
        low=-0.021,
        high=0.030,
        p_value=0.71,
    )
    code, out, _ = fx(capsys, "models")
    assert code == 0 and "lift (95 % CI) policy" in out.splitlines()[0]
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "+0.0040 (-0.0210..+0.0300) significant" in rows[store["c"]]
    assert "significant" not in rows[store["a"]]  # a version that never faced a champion


def _champion_check(url: str, pair: str = EURUSD) -> AssetCheckEvaluation:
    """``champion_usable`` evaluated alone on ``pair``'s partition."""
    instance = DagsterInstance.ephemeral()
    register_pairs(instance, (pair,))
    result = materialize(
        in_groups("training"),
        selection=AssetSelection.checks(champion_usable),
        # The pair's run, as the training job's (a checks-only run takes no partition key).
        tags={"dagster/partition": pair},
        instance=instance,
        resources={
            "warehouse": WarehouseResource(url=url),
            "tracking_store": MlflowResource(tracking_uri=registry.tracking_uri()),
            # The other training steps' resources, which this run does not start.
            "training": TrainingResource(),
            "mlflow": mlflow_parent_run(registry.tracking_uri()),
            "alerts": AlertsResource(),
        },
        run_config=QUIET,
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    return evaluation


def test_champion_check_fails_on_a_champion_with_an_old_feature_list(
    store: dict[str, str],
) -> None:
    missing = _champion_check(store["url"])
    assert not missing.passed and f"{EUR_MODEL} has no 'champion' alias" in missing.description

    client = registry.client()
    client.set_registered_model_alias(EUR_MODEL, registry.CHAMPION, store["old"])
    old = _champion_check(store["url"])
    assert not old.passed and "signature does not match" in old.description
    # GBP/USD's check looks at GBP/USD's model: no champion there.
    assert "gbp_usd_direction has no" in _champion_check(store["url"], GBPUSD).description

    registry.promote(client, store["c"], reason="test", name=EUR_MODEL)
    assert _champion_check(store["url"]).passed


def test_promotion_and_rollback_alert_a_person(
    store: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    httpserver.expect_request("/hook").respond_with_data("ok")
    monkeypatch.setenv("FX_ALERT_WEBHOOK_URL", httpserver.url_for("/hook"))
    a, b = store["a"], store["b"]
    assert fx(capsys, "promote", a, "--reason", "first")[0] == 0
    assert fx(capsys, "promote", b, "--reason", "better")[0] == 0
    assert fx(capsys, "rollback", "--reason", "b misbehaves")[0] == 0
    texts = [json.loads(req.get_data())["text"] for req, _ in httpserver.log]
    assert texts[0].startswith(f"[info] EURUSD: promotion: champion is now v{a}")
    assert texts[1].startswith(f"[info] EURUSD: promotion: champion is now v{b} (was v{a})")
    assert texts[2].startswith(f"[info] EURUSD: rollback: champion is now v{a} (was v{b})")
    assert "b misbehaves" in texts[2]


def test_alert_test_sends_to_the_webhook_or_says_what_to_set(
    fx_home: Path,
    capsys: pytest.CaptureFixture[str],
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var in ("FX_ALERT_WEBHOOK_URL", "FX_ALERT_EMAIL_TO", "FX_SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    code, _, err = fx(capsys, "alert-test")
    assert code == 1 and "set FX_ALERT_WEBHOOK_URL" in err and err.count("\n") == 1
    httpserver.expect_request("/hook").respond_with_data("ok")
    monkeypatch.setenv("FX_ALERT_WEBHOOK_URL", httpserver.url_for("/hook"))
    code, out, _ = fx(capsys, "alert-test")
    assert code == 0 and "webhook: sent" in out
    assert "alerts reach you" in json.loads(httpserver.log[0][0].get_data())["text"]
