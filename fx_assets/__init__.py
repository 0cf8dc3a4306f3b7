"""The FX direction platform: the Dagster code location (``fx_assets.definitions``), its
core library (``fx_assets.core``) and the ``fx`` command (``fx_assets.cli``)."""

import os

# MLflow's usage telemetry is off unless a person turns it on, as Dagster's is
# (dagster.yaml's `telemetry: enabled: false`): the platform reports nothing about its
# users. It also breaks runs: where MLflow's telemetry server cannot be reached (no
# internet), its background thread removes an environment variable of its own
# (_MLFLOW_TELEMETRY_SESSION_ID) while the process's MLflow requests are reading the
# environment (requests' proxy lookup), and a training step fails with that name as a
# KeyError (1 run in 14 of bench/distributed.py). Set before anything imports mlflow.
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
