"""Training, per pair: candidates, the tuned challenger, the promotion (the split: split.py).

Every asset is partitioned by pair (``pair = context.partition_key``): it reads and writes
that pair's rows (``warehouse.get().for_pair(pair)``) and that pair's registered model
(``Pair.model_name``), so a pair whose training fails leaves every other pair's champion
as it was.

The training job's parent MLflow run is dagster-mlflow's (resource ``mlflow``, tagged with
the Dagster run id and the pair); candidates, the challenger and the decision are runs
nested under it. Steps share nothing but the stores: ``challenger_model`` reads the
candidates' report back from the Dagster instance (``model_candidates``' materialization
of the same pair), not from an IO manager's file, so steps may run on different workers.
"""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetRecordsFilter,
    MaterializeResult,
    MetadataValue,
    ResourceParam,
    asset,
)
from dagster_mlflow.resources import MlFlow

from fx_assets.core.alerts import champion_changed
from fx_assets.core.contracts import TEST, TRAIN
from fx_assets.core.domain import FEATURES, TARGET
from fx_assets.core.models import lifecycle, registry
from fx_assets.core.pairs import Pair
from fx_assets.core.reports import CandidatesReport, ChallengerReport, PromotionReport
from fx_assets.core.training import tracking
from fx_assets.core.training.modeling import (
    best,
    evaluate_candidates,
    fit,
    holdout_metrics,
    xy,
)
from fx_assets.core.training.pooled import POOLED, evaluate_pooled
from fx_assets.core.training.tuning import Tuning, tune
from fx_assets.defs.contracts import fail
from fx_assets.defs.ingestion.partitions import PAIRS
from fx_assets.defs.monitoring.alerting import notifier
from fx_assets.defs.pools import TRAINING_POOL
from fx_assets.defs.resources import (
    AlertsResource,
    MlflowResource,
    TrainingResource,
    WarehouseResource,
    pair_parent_run_id,
)
from fx_assets.defs.training.pooled import book_rows_until, pooled_challenger

_KINDS = {"pandas", "sql"}


@asset(
    deps=[TRAIN.name],
    group_name="training",
    kinds={"scikitlearn", "xgboost", "mlflow"},
    partitions_def=PAIRS,
    # Model fits: the instance's pool limit (dagster.yaml) bounds them across runs.
    pool=TRAINING_POOL,
)
def model_candidates(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    training: TrainingResource,
    # dagster-mlflow's resource: the run's parent MLflow run, and mlflow's own API.
    mlflow: ResourceParam[MlFlow],
) -> MaterializeResult:
    """Logistic regression, random forest, XGBoost and the pooled model (one model on every
    pair's rows), cross-validated on this pair's training days."""
    pair = context.partition_key
    train = warehouse.get().for_pair(pair).read(TRAIN)
    x, y = xy(train)
    trials = evaluate_candidates(
        x, y, folds=training.cv_folds, gap=training.gap_days, seed=training.seed
    )
    book = book_rows_until(warehouse, train) if training.pooled_candidate else None
    if book is not None and book["pair"].nunique() > 1:
        # On this pair's own folds, each fitted on every pair's rows up to the fold's end.
        trials.append(
            evaluate_pooled(
                book, pair, folds=training.cv_folds, gap=training.gap_days, seed=training.seed
            )
        )
    elif book is not None:
        context.log.info(f"{pair}: a book of one pair, so no pooled candidate")
    winner = best(trials)
    settings = {"cv_folds": training.cv_folds, "cv_gap": training.gap_days, "train_rows": len(x)}
    parent_id = pair_parent_run_id(mlflow, pair)
    for trial in trials:
        tracking.log_candidate(trial, settings=settings, pair=pair)
    rows = "\n".join(
        f"| {t.family} | {t.cv.mean:.4f} | {t.cv.std:.4f} | "
        + ", ".join(f"{s:.4f}" for s in t.cv.scores)
        + " |"
        for t in trials
    )
    baseline = sum(winner.cv.baselines) / len(winner.cv.baselines)
    table = (
        "| family | CV PR-AUC mean | std | per fold |\n|---|---|---|---|\n"
        f"{rows}\n| always up (baseline) | {baseline:.4f} | | |"
    )
    # challenger_model reads this report back from the materialization: no IO manager.
    report = CandidatesReport(
        pair=pair,
        best_family=winner.family,
        best_cv_pr_auc=winner.cv.mean,
        cv_baseline_pr_auc=baseline,
        train_rows=len(x),
        cv_folds=training.cv_folds,
        mlflow_parent_run_id=parent_id,
        cv_pr_auc={t.family: t.cv.mean for t in trials},
    )
    return MaterializeResult(
        metadata={"candidates": MetadataValue.md(table), **report.to_metadata()}
    )


def _candidates(context: AssetExecutionContext, pair: str) -> CandidatesReport:
    """The pair's newest ``model_candidates`` report, from the Dagster instance's event log
    (shared by every worker), or a failure saying what to materialize."""
    found = context.instance.fetch_materializations(
        AssetRecordsFilter(asset_key=AssetKey(CandidatesReport.ASSET), asset_partitions=[pair]),
        limit=1,
    ).records
    materialization = found[0].asset_materialization if found else None
    if materialization is None:
        raise fail(f"{pair} has no model_candidates yet; materialize model_candidates first")
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    return CandidatesReport.from_metadata(metadata)


@asset(
    deps=[TEST.name, model_candidates],
    group_name="training",
    kinds={"scikitlearn", "mlflow"},
    partitions_def=PAIRS,
    pool=TRAINING_POOL,
)
def challenger_model(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    training: TrainingResource,
    tracking_store: MlflowResource,
    mlflow: ResourceParam[MlFlow],
) -> MaterializeResult:
    """The best family, tuned and refit on the training days, registered as the challenger."""
    pair = context.partition_key
    family = _candidates(context, pair).best_family
    wh = warehouse.get().for_pair(pair)
    train, test = wh.read(TRAIN), wh.read(TEST)
    client, parent_id = tracking_store.client(), pair_parent_run_id(mlflow, pair)
    trial_settings = {"cv_folds": training.cv_folds, "cv_gap": training.gap_days}
    if family == POOLED:
        tuning, model = pooled_challenger(warehouse, training, pair, train, test)
    else:
        tuning, model = _tuned(family, training, train, client, parent_id, trial_settings, pair)
    metrics = holdout_metrics(model, test)
    cutoff = str(pd.Timestamp(train["date"].iloc[-1]).date())
    settings = {
        "tuning_budget": training.tuning_budget,
        "tuning_timeout": training.tuning_timeout,
        "cv_folds": training.cv_folds,
        "cv_gap": training.gap_days,
        "seed": training.seed,
        "train_rows": len(train),
        "test_rows": len(test),
        "training_cutoff": cutoff,
    }
    tags = {
        registry.TAG_FEATURES: ",".join(FEATURES),
        registry.TAG_TRAINING_CUTOFF: cutoff,
        registry.TAG_TEST_PR_AUC: f"{metrics['pr_auc']:.6f}",
        registry.TAG_BASELINE_PR_AUC: f"{metrics['baseline_pr_auc']:.6f}",
        registry.TAG_FAMILY: family,
        registry.TAG_CV_PR_AUC: f"{tuning.best.cv.mean:.6f}",
    }
    # The Dagster run id goes on the version, not on this nested run: dagster-mlflow finds
    # its parent run by that tag.
    version_tags = {**tags, registry.TAG_DAGSTER_RUN_ID: context.run_id}
    with mlflow.start_run(
        run_name=f"{pair} challenger {family}",
        nested=True,
        tags={registry.TAG_RUN_KIND: "challenger", registry.TAG_PAIR: pair, **tags},
    ) as run:
        tracking.log_tuning(tuning, metrics, settings=settings)
        version = tracking.log_challenger(
            model,
            features=FEATURES,
            train=train,
            test=test,
            target=TARGET,
            tags=version_tags,
            pair=pair,
        )
    context.log.info(
        f"{pair} challenger v{version.version} ({family}): test PR-AUC {metrics['pr_auc']:.4f},"
        f" always-up baseline {metrics['baseline_pr_auc']:.4f}"
    )
    report = ChallengerReport(
        pair=pair,
        model_version=version.version,
        model_uri=version.model_uri,
        family=family,
        params=tuning.best.params,
        cv_pr_auc=tuning.best.cv.mean,
        configs_tried=len(tuning.trials),
        trials_pruned=tuning.pruned,
        tuning_seconds=round(tuning.seconds, 1),
        study_best_trial=tuning.best.number,
        **{f"test_{k}": v for k, v in metrics.items()},
        training_cutoff=cutoff,
        mlflow_run_id=run.info.run_id,
    )
    return MaterializeResult(metadata=report.to_metadata())


@asset(
    deps=[challenger_model, TEST.name],
    group_name="training",
    kinds={"mlflow"},
    partitions_def=PAIRS,
)
def champion_model(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    training: TrainingResource,
    tracking_store: MlflowResource,
    mlflow: ResourceParam[MlFlow],
    alerts: AlertsResource,
) -> MaterializeResult:
    """The model predictions use; only a challenger scoring better on the test days replaces it."""
    pair = context.partition_key
    name = Pair.parse(pair).model_name
    client = tracking_store.client()
    test = warehouse.get().for_pair(pair).read(TEST)
    challenger = registry.alias_version(client, registry.CHALLENGER, name=name)
    if challenger is None:
        raise fail(f"{name} has no challenger; materialize challenger_model for {pair}")
    champion = registry.alias_version(client, registry.CHAMPION, name=name)
    scored = lifecycle.score(client, challenger, test)
    versus = lifecycle.score(client, champion, test) if champion else None
    decision = lifecycle.compare(
        scored,
        versus,
        test,
        margin=training.promotion_margin,
        policy=training.promotion_policy,
        seed=training.seed,
    )
    lifecycle.apply(client, decision, name=name)
    run_id = tracking.log_decision(
        client,
        run_name=f"decision v{challenger.version}: {decision.outcome}",
        record={"kind": "training", **decision.as_dict()},
        pair=pair,
        parent_run_id=pair_parent_run_id(mlflow, pair),
    )
    context.log.info(f"{name}: {decision.reason}")
    if decision.promote:
        notifier(alerts, warehouse)(
            champion_changed(
                "promotion",
                decision.challenger_version,
                decision.champion_version,
                decision.reason,
                pair=pair,
            )
        )
    after = registry.alias_version(client, registry.CHAMPION, name=name)
    report = PromotionReport(
        pair=pair,
        decision=decision.outcome,
        reason=decision.reason,
        champion_version=after.version if after else "",
        previous_champion_version=decision.champion_version or "",
        challenger_version=decision.challenger_version,
        challenger_pr_auc=decision.challenger_pr_auc,
        champion_pr_auc=decision.champion_pr_auc,
        baseline_pr_auc=decision.baseline_pr_auc,
        margin=decision.margin,
        policy=decision.policy,
        lift=decision.lift,
        lift_ci_low=decision.lift_ci_low,
        lift_ci_high=decision.lift_ci_high,
        lift_p_value=decision.lift_p_value,
        mlflow_run_id=run_id,
    )
    return MaterializeResult(metadata=report.to_metadata())


def _tuned(
    family: str,
    training: TrainingResource,
    train: pd.DataFrame,
    client: object,
    parent_id: str | None,
    trial_settings: dict[str, object],
    pair: str,
) -> tuple[Tuning, object]:
    """The Optuna study over ``family`` on the pair's training days, and its best refit."""
    x, y = xy(train)
    try:
        tuning = tune(
            family,
            x,
            y,
            budget=training.tuning_budget,
            timeout=training.tuning_timeout,
            folds=training.cv_folds,
            gap=training.gap_days,
            seed=training.seed,
            # Each Optuna trial becomes a run nested under the training's parent run.
            on_trial=lambda trial: tracking.log_trial(
                client, trial, parent_run_id=parent_id, settings=trial_settings, pair=pair
            ),
        )
    except ValueError as exc:  # a budget or family the settings got wrong: one line
        raise fail(f"{pair}: {exc}") from None
    return tuning, fit(family, tuning.best.params, train, training.seed)
