"""Where a run's steps execute (``FX_EXECUTOR``) and where the values they hand each other
are kept (``FX_IO_BUCKET``); docs/scale.md says when to use which.

The executor is the code location's default, so it applies to every job that does not name
its own: the training job (training and evaluation, the heavy part of the week) and the
assets a person materializes in the UI. The ETL and prediction jobs stay in process: they
are short chains that wait on the network and the warehouse, not on the CPU.

On Celery or Kubernetes, consecutive steps may run on different machines that share
nothing but the stores, so a value one asset returns to the next (``model_candidates``'
report to ``challenger_model``) goes to object storage, never to a local disk.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from fx_assets.core.settings import ConfigError, Settings, env_name, load_settings

# The Celery app's settings, the same on both sides: the run's orchestrator publishes with
# them (below) and every worker starts with them (deploy/dagster/celery.yaml, which
# tests/deploy/test_celery_config.py holds equal to this).
CELERY_CONFIG_SOURCE: dict[str, Any] = {
    # A worker acknowledges a step's message when the step has finished, not when it
    # starts: a worker that dies mid-step (its container killed, its host lost) closes its
    # broker connection, and the broker hands the step to another worker.
    "task_acks_late": True,
    # But a step whose own process dies under a live worker (the kernel's OOM killer) fails,
    # naming the step, instead of going back to the queue: a step that always runs out of
    # memory would otherwise be redelivered forever and its run never end.
    "task_reject_on_worker_lost": False,
    # A worker process reserves one step at a time: a queued step is never stuck behind a
    # long training on a busy worker while another worker idles.
    "worker_prefetch_multiplier": 1,
    # A worker that starts before the broker keeps trying instead of exiting.
    "broker_connection_retry_on_startup": True,
}
# Results come back to the run's orchestrator over the broker itself: no second store.
CELERY_BACKEND = "rpc://"
# Where the values between steps go in the bucket.
IO_PREFIX = "dagster-io"


def celery_executor_config() -> dict[str, Any]:
    """The celery executor's config; the broker URL (it holds a password) by its variable."""
    return {
        "broker": {"env": env_name("celery_broker_url")},
        "backend": CELERY_BACKEND,
        "config_source": CELERY_CONFIG_SOURCE,
    }


def executor_for(settings: Settings) -> dg.ExecutorDefinition:
    """The executor FX_EXECUTOR names; one line saying what is missing when it cannot run."""
    kind = settings.executor
    if kind in ("celery", "k8s") and settings.io_bucket is None:
        raise ConfigError(
            f"FX_EXECUTOR={kind} runs steps on machines that share no disk:"
            " set FX_IO_BUCKET (and FX_S3_ENDPOINT_URL for MinIO)"
        )
    if kind == "celery":
        if settings.celery_broker_url is None:
            raise ConfigError("FX_EXECUTOR=celery needs FX_CELERY_BROKER_URL, the workers' broker")
        from dagster_celery import celery_executor

        return celery_executor.configured(celery_executor_config(), name="celery")
    if kind == "k8s":
        try:
            from dagster_k8s import k8s_job_executor
        except ImportError:
            raise ConfigError(
                "FX_EXECUTOR=k8s needs dagster-k8s, which the image installs"
                " (requirements.lock); pip install dagster-k8s"
            ) from None
        return k8s_job_executor
    if kind == "multiprocess":
        return dg.multiprocess_executor
    return dg.in_process_executor


def io_manager_for(settings: Settings) -> dict[str, Any]:
    """``io_manager`` on S3/MinIO when FX_IO_BUCKET is set; else Dagster's default (a folder
    of the instance), which only works while every step runs on one machine."""
    if settings.io_bucket is None:
        return {}
    from dagster_aws.s3 import S3PickleIOManager, S3Resource

    s3 = S3Resource(
        endpoint_url=settings.s3_endpoint_url,
        aws_access_key_id=settings.s3_access_key,
        # The UI shows the variable's name, never the key.
        aws_secret_access_key=(
            dg.EnvVar(env_name("s3_secret_key")) if settings.s3_secret_key is not None else None
        ),
    )
    return {
        "io_manager": S3PickleIOManager(
            s3_resource=s3, s3_bucket=settings.io_bucket, s3_prefix=IO_PREFIX
        )
    }


@dg.definitions
def execution() -> dg.Definitions:
    """The default executor and the io_manager, from the environment at load time."""
    settings = load_settings()
    return dg.Definitions(executor=executor_for(settings), resources=io_manager_for(settings))
