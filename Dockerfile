# syntax=docker/dockerfile:1
# One image for every Python service of docker-compose.yml (Dagster code server, webserver
# and daemon, MLflow server, model service, dashboard); the compose file picks the command.

ARG PYTHON_VERSION=3.11

# --- build: a virtualenv with the project and its dependencies ------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p fx_assets fx_serving fx_dash \
    && touch fx_assets/__init__.py fx_serving/__init__.py fx_dash/__init__.py \
    && pip install ".[deploy]" \
    && pip uninstall --yes fx-platform
COPY fx_assets ./fx_assets
COPY fx_serving ./fx_serving
COPY fx_dash ./fx_dash
RUN pip install --no-deps . && python -m compileall -q /opt/venv

# --- runtime: the virtualenv, the instance config, a non-root user -------------------
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
# xgboost needs the OpenMP runtime, which the slim image lacks.
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
    DAGSTER_HOME=/opt/dagster/dagster_home
# The instance config is read from $DAGSTER_HOME; its storage/ (compute logs) is a volume
# shared by the code server, the webserver and the daemon.
COPY dagster.yaml /opt/dagster/dagster_home/dagster.yaml
COPY deploy/dagster/workspace.yaml /opt/dagster/workspace.yaml
RUN mkdir -p /opt/dagster/dagster_home/storage \
    && chown -R fx:fx /opt/dagster/dagster_home/storage /var/lib/fx
USER fx
WORKDIR /var/lib/fx
EXPOSE 3000 4000 5000 8000 8050
CMD ["fx", "info"]
