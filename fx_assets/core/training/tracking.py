"""MLflow runs of the model lifecycle: candidates, the tuned challenger, champion decisions.

Dagster-free. The training assets call these inside the parent run of their Dagster
run, so a training shows in the MLflow UI as one parent with a nested run per
candidate, one for the challenger (which logs and registers the model through
``log_challenger``) and one for the promotion decision. ``fx promote`` and
``fx rollback`` record their decisions with the same ``log_decision``.

One experiment holds the whole book: every run carries the ``pair`` tag
(``registry.TAG_PAIR``), and each pair registers its own model
(``Pair.model_name``). One experiment because dagster-mlflow's parent run is configured
with one experiment when the code location loads (it cannot follow a run's partition),
and because the deployment's MLflow grants are per experiment and made by the admin in
advance (``fx mlflow-users``): a pair added at run time needs no new grant, and the
MLflow UI compares pairs with one filter (``tags.pair = 'GBPUSD'``).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping
from typing import Any

import mlflow
import numpy as np

from fx_assets.core.domain import EXPERIMENT_NAME
from fx_assets.core.models import registry
from fx_assets.core.models.loader import TRUSTED_TYPES, record_artifact_hash
from fx_assets.core.models.ranges import TAG_FEATURE_RANGES, Ranges
from fx_assets.core.models.registry import TAG_FAMILY, TAG_PAIR, TAG_RUN_KIND
from fx_assets.core.pairs import Pair
from fx_assets.core.training.modeling import CVResult, Trial
from fx_assets.core.training.tuning import TunedTrial, Tuning


def _cv_metrics(cv: CVResult, prefix: str = "cv_pr_auc") -> dict[str, float]:
    metrics = {f"{prefix}_mean": cv.mean, f"{prefix}_std": cv.std}
    metrics.update({f"{prefix}_fold_{i}": s for i, s in enumerate(cv.scores)})
    if cv.baselines:
        metrics["cv_baseline_pr_auc_mean"] = float(np.mean(cv.baselines))
    return metrics


def log_candidate(trial: Trial, *, settings: Mapping[str, Any], pair: str) -> str:
    """One nested run for a cross-validated candidate: params, per-fold, mean and std PR-AUC."""
    with mlflow.start_run(
        run_name=f"{pair} candidate {trial.family}",
        nested=True,
        tags={TAG_RUN_KIND: "candidate", TAG_FAMILY: trial.family, TAG_PAIR: pair},
    ) as run:
        mlflow.log_params({**trial.params, **settings, "family": trial.family})
        mlflow.log_metrics(_cv_metrics(trial.cv))
        return str(run.info.run_id)


def log_tuning(
    tuning: Tuning, metrics: Mapping[str, float], *, settings: Mapping[str, Any]
) -> None:
    """In the active challenger run: the study's best value and params, every trial, scores."""
    mlflow.log_params({**tuning.best.params, **settings, "family": tuning.family})
    mlflow.log_params(
        {
            "study_best_trial": tuning.best.number,
            "study_trials": len(tuning.trials),
            "study_pruned": tuning.pruned,
            "study_timed_out": tuning.timed_out,
            "study_sampler": "TPESampler",
            "study_pruner": "MedianPruner",
        }
    )
    mlflow.log_metrics(_cv_metrics(tuning.best.cv))
    mlflow.log_metrics({"study_best_value": tuning.best.cv.mean, "study_seconds": tuning.seconds})
    for trial in tuning.trials:
        if trial.state == "complete":
            mlflow.log_metric("tuning_cv_pr_auc_mean", trial.cv.mean, step=trial.number)
    mlflow.log_dict(
        {
            "family": tuning.family,
            "best_trial": tuning.best.number,
            "trials": [
                {
                    "number": t.number,
                    "state": t.state,
                    "params": t.params,
                    "cv_pr_auc_mean": t.cv.mean,
                    "cv_pr_auc_std": t.cv.std,
                    "cv_pr_auc_folds": list(t.cv.scores),
                }
                for t in tuning.trials
            ],
        },
        "tuning_trials.json",
    )
    mlflow.log_metrics({f"test_{k}": v for k, v in metrics.items() if not math.isnan(v)})


def log_trial(
    client: Any,
    trial: TunedTrial,
    *,
    parent_run_id: str,
    settings: Mapping[str, Any],
    pair: str,
) -> str:
    """One Optuna trial as a run nested under the training's parent run; its id.

    Through the client in one batch, not the fluent API: it leaves the active run (the
    parent) alone and costs one round trip per trial.
    """
    from mlflow.entities import Metric, Param

    experiment = client.get_experiment_by_name(EXPERIMENT_NAME)
    run = client.create_run(
        experiment.experiment_id,
        run_name=f"{pair} trial {trial.number} {trial.family} ({trial.state})",
        tags={
            TAG_RUN_KIND: "trial",
            TAG_PAIR: pair,
            TAG_FAMILY: trial.family,
            "mlflow.parentRunId": parent_run_id,
            "optuna_state": trial.state,
        },
    )
    now_ms = int(time.time() * 1000)
    metrics = _cv_metrics(trial.cv) if trial.cv.scores else {}
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(k, float(v), now_ms, 0) for k, v in metrics.items()],
        params=[
            Param(k, str(v))
            for k, v in {**trial.params, **settings, "trial_number": trial.number}.items()
        ],
    )
    client.set_terminated(run.info.run_id, "FINISHED" if trial.state == "complete" else "KILLED")
    return str(run.info.run_id)


def _pip_requirements() -> list[str]:
    from importlib.metadata import version

    # Pinned explicitly: MLflow's inference of requirements imports the model in a
    # subprocess, which costs several seconds per logged model.
    return [
        f"{dist}=={version(dist)}"
        for dist in ("mlflow", "scikit-learn", "xgboost-cpu", "skops", "pandas", "numpy")
    ]


def log_challenger(
    model: Any,
    *,
    features: list[str],
    train: Any,
    test: Any,
    target: str,
    tags: Mapping[str, str],
    pair: str,
) -> registry.Version:
    """Log ``model`` in the active run, register it as ``pair``'s model
    (``eur_usd_direction``), alias it ``challenger``; its version.

    The signature's inputs are ``features`` in order; its output is ``predict_proba``'s,
    which is also what the pyfunc flavour serves. The train and test tables are logged as
    the run's dataset inputs.
    """
    import mlflow.data
    import mlflow.sklearn
    from mlflow.models import infer_signature

    name, slug = Pair.parse(pair).model_name, Pair.parse(pair).slug
    x = train[features].astype(float)
    with warnings.catch_warnings():
        # The 0/1 target is an integer column by design; MLflow's hint about nulls in
        # integer columns does not apply to a dataset record.
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
        for part, rows in (("train", train), ("test", test)):
            # The pair's own name for its rows: eur_usd_train is also the seed's view.
            dataset = mlflow.data.from_pandas(rows, name=f"{slug}_{part}", targets=target)
            mlflow.log_input(dataset, context=part)
    info = mlflow.sklearn.log_model(
        model,
        name="model",
        signature=infer_signature(x.head(50), model.predict_proba(x.head(50))),
        input_example=x.tail(5),
        registered_model_name=name,
        pyfunc_predict_fn="predict_proba",
        pip_requirements=_pip_requirements(),
        serialization_format="skops",  # the only format the loader reads
        skops_trusted_types=list(TRUSTED_TYPES),  # checked at save; the loader uses its own
    )
    version = str(info.registered_model_version)
    c = mlflow.MlflowClient()  # the store the active run logs to
    # First, before the challenger alias: an unhashed version never loads anywhere.
    record_artifact_hash(c, version, name)
    # The guard against inputs the model never saw: its features' training ranges.
    ranges = Ranges.of(train, features).to_tag()
    tags = {
        **tags,
        TAG_FEATURE_RANGES: ranges,
        TAG_PAIR: pair,
        registry.TAG_LIFECYCLE: registry.CHALLENGER,
    }
    for key, value in tags.items():
        c.set_model_version_tag(name, version, key, value)
    c.set_registered_model_alias(name, registry.CHALLENGER, version)
    return registry.get_version(c, version, name=name)


def log_decision(
    client: Any,
    *,
    run_name: str,
    record: Mapping[str, object],
    pair: str,
    parent_run_id: str | None = None,
) -> str:
    """Record a champion decision of ``pair``'s model as a run (nested under a training run
    when given); its id.

    Floats in ``record`` (scores, baseline, margin) become metrics, the rest params.
    """
    from mlflow.entities import Metric, Param

    experiment = client.get_experiment_by_name(EXPERIMENT_NAME)
    tags = {TAG_RUN_KIND: "decision", TAG_PAIR: pair}
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    run = client.create_run(experiment.experiment_id, run_name=f"{pair} {run_name}", tags=tags)
    now_ms = int(time.time() * 1000)
    floats = {k: v for k, v in record.items() if isinstance(v, float) and not math.isnan(v)}
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(k, v, now_ms, 0) for k, v in floats.items()],
        params=[Param(k, str(v)) for k, v in record.items() if k not in floats and v is not None],
    )
    client.set_terminated(run.info.run_id)
    return str(run.info.run_id)
