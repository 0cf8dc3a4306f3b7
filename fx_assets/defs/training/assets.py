"""Training: the time-ordered split, candidates, the tuned challenger, the promotion.

The training job's parent MLflow run is dagster-mlflow's (resource ``mlflow``, tagged with
the Dagster run id); candidates, the challenger and the decision are runs nested under it.
"""

import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    Output,
    ResourceParam,
    asset,
    multi_asset,
)
from dagster_mlflow.resources import MlFlow

from fx_assets.core.alerts import champion_changed
from fx_assets.core.contracts import FINAL, TEST, TRAIN, DataValidationError
from fx_assets.core.domain import FEATURES, TARGET
from fx_assets.core.models import lifecycle, registry
from fx_assets.core.reports import CandidatesReport, ChallengerReport, PromotionReport
from fx_assets.core.training import tracking
from fx_assets.core.training.modeling import (
    best,
    evaluate_candidates,
    fit,
    holdout_metrics,
    xy,
)
from fx_assets.core.training.splits import (
    InsufficientHistoryError,
    known_rows,
    min_train_rows,
    split_train_test,
    validate_split,
)
from fx_assets.core.training.tuning import tune
from fx_assets.defs.contracts import asset_metadata, fail, table_metadata, validated
from fx_assets.defs.monitoring.alerting import notifier
from fx_assets.defs.resources import (
    AlertsResource,
    MlflowResource,
    TrainingResource,
    WarehouseResource,
    parent_run_id,
)

_KINDS = {"pandas", "sql"}


def _preview(df: pd.DataFrame, **extra: object) -> dict[str, object]:
    known = df[TARGET].astype(float)
    return table_metadata(
        df[["date", *FEATURES[:4], TARGET]], up_share=float(known.mean()), **extra
    )


@multi_asset(
    specs=[
        AssetSpec(
            TRAIN.name,
            deps=[FINAL.name],
            description="Days the models learn from: every known day before the test window's gap.",
            kinds=_KINDS,
            metadata=asset_metadata(TRAIN),
        ),
        AssetSpec(
            TEST.name,
            deps=[FINAL.name],
            description="The newest trading days, held out to score challenger and champion alike.",
            kinds=_KINDS,
            metadata=asset_metadata(TEST),
        ),
    ],
    group_name="training",
)
def eur_usd_split(warehouse: WarehouseResource, training: TrainingResource):
    """Time-ordered train/test split of the modelling table, with a gap between them."""
    wh = warehouse.get()
    final = wh.read(FINAL)
    try:
        split = split_train_test(
            final,
            test_days=training.test_days,
            gap_days=training.gap_days,
            min_train=min_train_rows(training.cv_folds),
        )
    except (InsufficientHistoryError, ValueError) as exc:
        raise fail(str(exc)) from None
    train = validated(TRAIN, split.train)
    test = validated(TEST, split.test)
    try:
        validate_split(train, test, known_rows(final)["date"], training.gap_days)
    except DataValidationError as exc:
        raise fail(str(exc)) from None
    wh.replace_tables({TRAIN: train, TEST: test})
    cutoff = str(split.training_cutoff.date())
    yield MaterializeResult(
        asset_key=TRAIN.name,
        metadata=_preview(train, training_cutoff=cutoff, gap_days=training.gap_days),
    )
    yield MaterializeResult(
        asset_key=TEST.name, metadata=_preview(test, test_days=training.test_days)
    )


@asset(
    deps=[TRAIN.name],
    group_name="training",
    kinds={"scikitlearn", "xgboost", "mlflow"},
    # Model fits: the instance's pool limit (dagster.yaml) bounds them across runs.
    pool="training",
)
def model_candidates(
    warehouse: WarehouseResource,
    training: TrainingResource,
    # dagster-mlflow's resource: the run's parent MLflow run, and mlflow's own API.
    mlflow: ResourceParam[MlFlow],
) -> Output[CandidatesReport]:
    """Logistic regression, random forest and XGBoost, cross-validated on the training days."""
    train = warehouse.get().read(TRAIN)
    x, y = xy(train)
    trials = evaluate_candidates(
        x, y, folds=training.cv_folds, gap=training.gap_days, seed=training.seed
    )
    winner = best(trials)
    settings = {"cv_folds": training.cv_folds, "cv_gap": training.gap_days, "train_rows": len(x)}
    parent_id = parent_run_id(mlflow)
    for trial in trials:
        tracking.log_candidate(trial, settings=settings)
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
    # The report is also the output: challenger_model tunes its best family.
    report = CandidatesReport(
        best_family=winner.family,
        best_cv_pr_auc=winner.cv.mean,
        cv_baseline_pr_auc=baseline,
        train_rows=len(x),
        cv_folds=training.cv_folds,
        mlflow_parent_run_id=parent_id,
        cv_pr_auc={t.family: t.cv.mean for t in trials},
    )
    return Output(report, metadata={"candidates": MetadataValue.md(table), **report.to_metadata()})


@asset(
    deps=[TEST.name],
    group_name="training",
    kinds={"scikitlearn", "mlflow"},
    pool="training",
)
def challenger_model(
    context: AssetExecutionContext,
    model_candidates: CandidatesReport,
    warehouse: WarehouseResource,
    training: TrainingResource,
    tracking_store: MlflowResource,
    mlflow: ResourceParam[MlFlow],
) -> MaterializeResult:
    """The best family, tuned and refit on the training days, registered as the challenger."""
    family = model_candidates.best_family
    wh = warehouse.get()
    train, test = wh.read(TRAIN), wh.read(TEST)
    x, y = xy(train)
    client, parent_id = tracking_store.client(), parent_run_id(mlflow)
    trial_settings = {"cv_folds": training.cv_folds, "cv_gap": training.gap_days}
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
            client, trial, parent_run_id=parent_id, settings=trial_settings
        ),
    )
    model = fit(family, tuning.best.params, train, training.seed)
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
        run_name=f"challenger {family}",
        nested=True,
        tags={registry.TAG_RUN_KIND: "challenger", **tags},
    ) as run:
        tracking.log_tuning(tuning, metrics, settings=settings)
        version = tracking.log_challenger(
            model, features=FEATURES, train=train, test=test, target=TARGET, tags=version_tags
        )
    context.log.info(
        f"challenger v{version.version} ({family}): test PR-AUC {metrics['pr_auc']:.4f},"
        f" always-up baseline {metrics['baseline_pr_auc']:.4f}"
    )
    report = ChallengerReport(
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
    client = tracking_store.client()
    test = warehouse.get().read(TEST)
    challenger = registry.alias_version(client, registry.CHALLENGER)
    if challenger is None:
        raise fail(f"{registry.MODEL_NAME} has no challenger; materialize challenger_model")
    champion = registry.alias_version(client, registry.CHAMPION)
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
    lifecycle.apply(client, decision)
    run_id = tracking.log_decision(
        client,
        run_name=f"decision v{challenger.version}: {decision.outcome}",
        record={"kind": "training", **decision.as_dict()},
        parent_run_id=parent_run_id(mlflow),
    )
    context.log.info(decision.reason)
    if decision.promote:
        notifier(alerts, warehouse)(
            champion_changed(
                "promotion", decision.challenger_version, decision.champion_version, decision.reason
            )
        )
    after = registry.alias_version(client, registry.CHAMPION)
    report = PromotionReport(
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
