"""The Celery executor as configured: the workers' file says what the code says, the
executor follows FX_EXECUTOR, and a setup that cannot work is refused in one line."""

from __future__ import annotations

import pytest
import yaml

from fx_assets.core.settings import ConfigError, Settings
from fx_assets.defs.execution import celery_executor_config, executor_for, io_manager_for
from tests.support import ROOT


def test_the_workers_start_with_the_config_the_runs_publish_with() -> None:
    worker = yaml.safe_load((ROOT / "deploy" / "dagster" / "celery.yaml").read_text())
    assert worker["execution"]["config"] == celery_executor_config()
    source = worker["execution"]["config"]["config_source"]
    # A worker's death sends its step to another worker; a step's own death fails it.
    assert source["task_acks_late"] is True and source["task_reject_on_worker_lost"] is False


def test_the_worker_file_is_valid_executor_config(monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster_celery.cli import get_validated_config

    monkeypatch.setenv("FX_CELERY_BROKER_URL", "pyamqp://fx:secret@rabbitmq:5672//")
    config = get_validated_config(str(ROOT / "deploy" / "dagster" / "celery.yaml"))
    assert config["broker"] == "pyamqp://fx:secret@rabbitmq:5672//"


def _settings(**values: object) -> Settings:
    return Settings.model_validate(values)


def test_the_executor_follows_fx_executor() -> None:
    assert executor_for(_settings()).name == "in_process"
    assert executor_for(_settings(executor="multiprocess")).name == "multiprocess"
    celery = _settings(executor="celery", celery_broker_url="pyamqp://x@y//", io_bucket="io")
    assert executor_for(celery).name == "celery"
    assert set(io_manager_for(celery)) == {"io_manager"}
    assert io_manager_for(_settings()) == {}


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"executor": "celery", "io_bucket": "io"}, "FX_CELERY_BROKER_URL"),
        ({"executor": "celery", "celery_broker_url": "pyamqp://x@y//"}, "FX_IO_BUCKET"),
        ({"executor": "k8s"}, "FX_IO_BUCKET"),
    ],
)
def test_a_setup_that_cannot_work_is_one_line(values: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle) as err:
        executor_for(_settings(**values))
    assert "\n" not in str(err.value)
