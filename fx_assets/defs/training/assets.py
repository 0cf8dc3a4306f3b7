"""Training assets: the time-ordered split, candidates, the tuned challenger, the promotion."""

import mlflow
import pandas as pd
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from fx_assets.core.features import FEATURES, TARGET
from fx_assets.core.models import registry
from fx_assets.core.schemas import TEST_SCHEMA, TRAIN_SCHEMA, DataValidationError
from fx_assets.core.training import tracking
from fx_assets.core.training.modeling import (
    best,
    evaluate_candidates,
    fit,
    holdout_metrics,
    pr_auc,
    probability_up,
    tune,
    xy,
)
from fx_assets.core.training.promotion import decide
from fx_assets.core.training.splits import (
    InsufficientHistoryError,
    known_rows,
    min_train_rows,
    split_train_test,
    validate_split,
)
from fx_assets.defs.ingestion.assets import _validated, eur_usd_final, table_metadata
from fx_assets.defs.resources import MlflowResource, TrainingResource, WarehouseResource

TRAIN_KEY = AssetKey("eur_usd_train")
TEST_KEY = AssetKey("eur_usd_test")
_KINDS = {"pandas", "sql"}


def _fail(message: str) -> Failure:
    # Deterministic: a retry cannot fix too little history or a bad split.
    return Failure(description=message, allow_retries=False)


def _preview(df: pd.DataFrame, **extra: object) -> dict[str, object]:
    known = df[TARGET].astype(float)
    return table_metadata(
        df[["date", *FEATURES[:4], TARGET]], up_share=float(known.mean()), **extra
    )


@multi_asset(
    specs=[
        AssetSpec(
            TRAIN_KEY,
            deps=[eur_usd_final],
            description="Days the models learn from: every known day before the test window's gap.",
            kinds=_KINDS,
        ),
        AssetSpec(
            TEST_KEY,
            deps=[eur_usd_final],
            description="The newest trading days, held out to score challenger and champion alike.",
            kinds=_KINDS,
        ),
    ],
    group_name="training",
)
def eur_usd_split(warehouse: WarehouseResource, training: TrainingResource):
    """Time-ordered train/test split of the modelling table, with a gap between them."""
    wh = warehouse.get()
    final = wh.read("eur_usd_final")
    try:
        split = split_train_test(
            final,
            test_days=training.test_days,
            gap_days=training.gap_days,
            min_train=min_train_rows(training.cv_folds),
        )
    except (InsufficientHistoryError, ValueError) as exc:
        raise _fail(str(exc)) from None
    train = _validated(TRAIN_SCHEMA, split.train)
    test = _validated(TEST_SCHEMA, split.test)
    try:
        validate_split(train, test, known_rows(final)["date"], training.gap_days)
    except DataValidationError as exc:
        raise _fail(str(exc)) from None
    wh.replace_tables({"eur_usd_train": train, "eur_usd_test": test})
    cutoff = str(split.training_cutoff.date())
    yield MaterializeResult(
        asset_key=TRAIN_KEY,
        metadata=_preview(train, training_cutoff=cutoff, gap_days=training.gap_days),
    )
    yield MaterializeResult(
        asset_key=TEST_KEY, metadata=_preview(test, test_days=training.test_days)
    )


@asset(deps=[TRAIN_KEY], group_name="training", kinds={"scikitlearn", "xgboost", "mlflow"})
def model_candidates(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    training: TrainingResource,
    tracking_store: MlflowResource,
) -> MaterializeResult:
    """Logistic regression, random forest and XGBoost, cross-validated on the training days."""
    train = warehouse.get().read("eur_usd_train")
    x, y = xy(train)
    trials = evaluate_candidates(
        x, y, folds=training.cv_folds, gap=training.gap_days, seed=training.seed
    )
    winner = best(trials)
    settings = {"cv_folds": training.cv_folds, "cv_gap": training.gap_days, "train_rows": len(x)}
    with tracking_store.run_for(context.run_id, context.job_name) as parent_id:
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
    return MaterializeResult(
        metadata={
            "candidates": MetadataValue.md(table),
            "best_family": winner.family,
            "best_cv_pr_auc": winner.cv.mean,
            "cv_baseline_pr_auc": baseline,
            "train_rows": len(x),
            "cv_folds": training.cv_folds,
            "mlflow_parent_run_id": parent_id,
            **{f"cv_pr_auc_{t.family}": t.cv.mean for t in trials},
        }
    )


def _best_family(context: AssetExecutionContext) -> str:
    event = context.instance.get_latest_materialization_event(AssetKey("model_candidates"))
    meta = event.asset_materialization.metadata if event and event.asset_materialization else {}
    if "best_family" not in meta:
        raise _fail("model_candidates has no materialization yet; materialize it first")
    return str(meta["best_family"].value)


@asset(deps=[model_candidates, TEST_KEY], group_name="training", kinds={"scikitlearn", "mlflow"})
def challenger_model(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    training: TrainingResource,
    tracking_store: MlflowResource,
) -> MaterializeResult:
    """The best family, tuned and refit on the training days, registered as the challenger."""
    family = _best_family(context)
    wh = warehouse.get()
    train, test = wh.read("eur_usd_train"), wh.read("eur_usd_test")
    x, y = xy(train)
    tuning = tune(
        family,
        x,
        y,
        budget=training.tuning_budget,
        folds=training.cv_folds,
        gap=training.gap_days,
        seed=training.seed,
    )
    model = fit(family, tuning.best.params, train, training.seed)
    metrics = holdout_metrics(model, test)
    cutoff = str(pd.Timestamp(train["date"].iloc[-1]).date())
    settings = {
        "tuning_budget": training.tuning_budget,
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
        registry.TAG_DAGSTER_RUN_ID: context.run_id,
    }
    with (
        tracking_store.run_for(context.run_id, context.job_name),
        mlflow.start_run(
            run_name=f"challenger {family}",
            nested=True,
            tags={registry.TAG_RUN_KIND: "challenger", **tags},
        ) as run,
    ):
        tracking.log_tuning(tuning, metrics, settings=settings)
        version = tracking.log_challenger(
            model, features=FEATURES, train=train, test=test, target=TARGET, tags=tags
        )
    context.log.info(
        f"challenger v{version.version} ({family}): test PR-AUC {metrics['pr_auc']:.4f},"
        f" always-up baseline {metrics['baseline_pr_auc']:.4f}"
    )
    return MaterializeResult(
        metadata={
            "model_version": version.version,
            "model_uri": version.model_uri,
            "family": family,
            "params": tuning.best.params,
            "cv_pr_auc": tuning.best.cv.mean,
            "configs_tried": len(tuning.trials),
            **{f"test_{k}": v for k, v in metrics.items()},
            "training_cutoff": cutoff,
            "mlflow_run_id": run.info.run_id,
        }
    )


def _champion_score(
    champion: registry.Version | None, challenger: registry.Version, test: pd.DataFrame
) -> tuple[float | None, tuple[str, ...] | None, str | None]:
    """(PR-AUC, signature features, load error) of the champion on the test rows."""
    if champion is None or champion.version == challenger.version:
        return None, None, None
    features = registry.model_features(champion.model_uri)
    if list(features) != FEATURES:
        return None, features, None
    x, y = xy(test)
    try:
        p = probability_up(registry.load_model(champion.model_uri), x)
    except Exception as exc:  # a champion that cannot score is replaced, and the reason says why
        return None, features, str(exc).strip().splitlines()[0]
    return pr_auc(y, p), features, None


@asset(deps=[challenger_model, TEST_KEY], group_name="training", kinds={"mlflow"})
def champion_model(
    context: AssetExecutionContext,
    warehouse: WarehouseResource,
    training: TrainingResource,
    tracking_store: MlflowResource,
) -> MaterializeResult:
    """The model predictions use; only a challenger scoring better on the test days replaces it."""
    client = tracking_store.client()
    test = warehouse.get().read("eur_usd_test")
    challenger = registry.alias_version(client, registry.CHALLENGER)
    if challenger is None:
        raise _fail(f"{registry.MODEL_NAME} has no challenger; materialize challenger_model")
    champion = registry.alias_version(client, registry.CHAMPION)
    x, y = xy(test)
    challenger_score = pr_auc(y, probability_up(registry.load_model(challenger.model_uri), x))
    champion_score, champion_features, champion_error = _champion_score(champion, challenger, test)
    decision = decide(
        challenger_version=challenger.version,
        challenger_pr_auc=challenger_score,
        champion_version=champion.version if champion else None,
        champion_pr_auc=champion_score,
        champion_features=champion_features,
        features=FEATURES,
        baseline_pr_auc=float(y.mean()),
        margin=training.promotion_margin,
        champion_error=champion_error,
        challenger_lifecycle=challenger.lifecycle or "challenger",
    )
    if decision.promote:
        registry.promote(client, challenger.version, reason=decision.reason)
    elif champion is None or champion.version != challenger.version:
        registry.reject(client, challenger.version, reason=decision.reason)
    with tracking_store.run_for(context.run_id, context.job_name) as parent_id:
        run_id = tracking.log_decision(
            client,
            run_name=f"decision v{challenger.version}: {decision.outcome}",
            record={"kind": "training", **decision.as_dict()},
            parent_run_id=parent_id,
        )
    context.log.info(decision.reason)
    after = registry.alias_version(client, registry.CHAMPION)
    return MaterializeResult(
        metadata={
            "decision": decision.outcome,
            "reason": decision.reason,
            "champion_version": after.version if after else "",
            "previous_champion_version": decision.champion_version or "",
            "challenger_version": decision.challenger_version,
            "challenger_pr_auc": decision.challenger_pr_auc,
            "champion_pr_auc": decision.champion_pr_auc,
            "baseline_pr_auc": decision.baseline_pr_auc,
            "margin": decision.margin,
            "mlflow_run_id": run_id,
        }
    )


TRAINING_ASSETS = [eur_usd_split, model_candidates, challenger_model, champion_model]
