"""The pooled candidate through the real training and evaluation assets, on a simulated
book whose pairs share one rule (the known answer: one model on every pair's rows learns
it from less history per pair). Each pair's candidates include the pooled model; where it
wins, the pair's challenger is the pooled pipeline, promoted by that pair's rules, and
its backtest refits on the book's rows known before each block."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from dagster import DagsterInstance

from fx_assets.cli.results import read_report
from fx_assets.core.contracts import BACKTEST, FINAL, STAGING
from fx_assets.core.features import build_book_features, build_final
from fx_assets.core.models import registry
from fx_assets.core.pairs import model_name
from fx_assets.core.reports import CandidatesReport
from fx_assets.core.training.pooled import POOLED
from fx_assets.core.warehouse import Warehouse
from fx_assets.defs.resources import (
    AlertsResource,
    EvaluationResource,
    MlflowResource,
    TrainingResource,
    WarehouseResource,
    mlflow_parent_run,
)
from tests.support.book import shared_signal_book
from tests.support.code_location import materialize_groups

PAIRS = ("EURUSD", "GBPUSD", "USDJPY")


@pytest.mark.timeout(900)
def test_the_pooled_candidate_wins_a_shared_rule_and_is_backtested_on_the_book(
    fx_home: Path,
) -> None:
    # A short history (about 270 training days a pair): what pooling is for.
    closes = shared_signal_book(450, seed=3, strength=2.0)
    closes = closes[closes["pair"].isin(PAIRS)]
    staging = build_book_features(closes)
    url, uri = f"sqlite:///{fx_home / 'warehouse.db'}", f"sqlite:///{fx_home / 'mlflow.db'}"
    wh = Warehouse(url)
    for pair in PAIRS:
        rows = staging[staging["pair"] == pair].drop(columns="pair").reset_index(drop=True)
        wh.for_pair(pair).replace_all(STAGING, STAGING.validate(rows))
        wh.for_pair(pair).replace_all(FINAL, FINAL.validate(build_final(rows)))
    resources = {
        "warehouse": WarehouseResource(url=url),
        "training": TrainingResource(test_days=120, gap_days=1, cv_folds=3, tuning_budget=2),
        "evaluation": EvaluationResource(min_train_days=150, refit_days=40),
        "tracking_store": MlflowResource(tracking_uri=uri),
        "mlflow": mlflow_parent_run(uri),
        "alerts": AlertsResource(),
    }
    instance = DagsterInstance.ephemeral()
    families, runs = {}, {}
    for pair in PAIRS:
        runs[pair] = materialize_groups(
            "training", "evaluation", resources=resources, instance=instance, pairs=(pair,)
        )
        assert runs[pair].success, pair
        candidates = read_report(runs[pair], CandidatesReport)
        assert candidates is not None and POOLED in candidates.cv_pr_auc, pair
        families[pair] = candidates
    # The rule is shared: pooled beats every per-pair family on most pairs' own folds.
    won = [p for p, c in families.items() if c.best_family == POOLED]
    assert len(won) >= 2, {p: c.cv_pr_auc for p, c in families.items()}

    client = registry.client(uri)
    pair = won[0]
    champion = registry.alias_version(client, registry.CHAMPION, name=model_name(pair))
    assert champion is not None and champion.tags[registry.TAG_FAMILY] == POOLED
    # Its backtest: every forecast by a model fitted only on rows known before it.
    rows = wh.read(BACKTEST, pair=pair)
    assert len(rows) > 100
    assert (pd.to_datetime(rows["trained_through"]) < pd.to_datetime(rows["feature_date"])).all()
    # Beating always-up on a shared, strong rule: the backtest finds what CV found.
    assert (rows["direction"] == rows["actual"]).mean() > rows["actual"].mean()
