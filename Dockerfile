# syntax=docker/dockerfile:1
# One image for every Python service of docker-compose.yml (Dagster code server, webserver
# and daemon, MLflow server, model service, dashboard); the compose file picks the command.
#
#   docker build -t fx-platform .
#
# Base image, pinned by digest so a rebuild gets the same OS and Python. The tag is kept
# beside the digest for the reader; Docker uses the digest. To move to a newer base:
#   docker buildx imagetools inspect python:3.11-slim-bookworm   # the index digest
# and replace the sha256 below (both stages use it: the virtualenv's python must be the
# same in both). Another base with Debian's or python.org's Python 3.11 works too:
#   docker build --build-arg BASE_IMAGE=registry.example/python:3.11-slim .
# (tests/deploy/test_container.py builds on a Debian bookworm made with mmdebstrap this way).
ARG BASE_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

# --- build: a virtualenv with the locked dependencies, then the project ----------------
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, in their own layer, from the lock alone: a code or README change
# does not reinstall them, and every build gets the same versions (deploy/lock.sh).
# An index mirror can be given as the build secret `pip.conf`, and the CA bundle of a
# TLS-intercepting proxy as `pip-ca` (name it in that pip.conf as
# `cert = /run/secrets/pip-ca.pem`); both are mounted for this step only, never written
# to a layer, e.g.
#   docker build --secret id=pip.conf,src=$HOME/.config/pip/pip.conf .
COPY requirements.lock ./
RUN --mount=type=secret,id=pip.conf,target=/etc/pip.conf \
    --mount=type=secret,id=pip-ca,target=/run/secrets/pip-ca.pem \
    pip install --no-deps --require-hashes --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md ./
COPY fx_assets ./fx_assets
COPY fx_serving ./fx_serving
COPY fx_dash ./fx_dash
# The build backend (setuptools) is in the lock: no index is needed from here on.
RUN pip install --no-deps --no-build-isolation . \
    && pip check \
    && python -m compileall -q /opt/venv

# --- runtime: the virtualenv, the instance config, a non-root user -------------------
FROM ${BASE_IMAGE} AS runtime
# xgboost needs the OpenMP runtime, which the slim image lacks. No compiler here: every
# dependency is a wheel (--only-binary above).
RUN apt-get update \
    && apt-get install --yes --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 fx \
    && useradd --system --uid 10001 --gid fx --home-dir /var/lib/fx --create-home fx
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FX_HOME=/var/lib/fx \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    MLFLOW_DISABLE_TELEMETRY=true
# MLflow's telemetry is off, as Dagster's (fx_assets/__init__.py says why); here for the
# MLflow server too, which does not import fx_assets.
# The instance config is read from $DAGSTER_HOME; its storage/ (compute logs) is a volume
# shared by the code server, the webserver and the daemon.
COPY dagster.yaml /opt/dagster/dagster_home/dagster.yaml
COPY deploy/dagster/workspace.yaml /opt/dagster/workspace.yaml
# The Celery workers' config (docker-compose.yml's celery-worker: dagster-celery worker start).
COPY deploy/dagster/celery.yaml /opt/dagster/celery.yaml
COPY deploy/healthcheck.py /opt/fx/healthcheck.py
# MLflow's authentication settings (no secret: see the file); compose points
# MLFLOW_AUTH_CONFIG_PATH here for the MLflow server.
COPY deploy/mlflow/basic_auth.ini /opt/fx/mlflow/basic_auth.ini
RUN mkdir -p /opt/dagster/dagster_home/storage \
    && chown -R fx:fx /opt/dagster/dagster_home/storage /var/lib/fx
USER 10001:10001
WORKDIR /var/lib/fx
EXPOSE 3000 4000 5000 8000 8050
# Checks whichever service the container runs (read from its command line: the port it
# was given, else the compose default); docker-compose.yml states each check explicitly.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
    CMD ["python", "/opt/fx/healthcheck.py"]
CMD ["fx", "info"]
