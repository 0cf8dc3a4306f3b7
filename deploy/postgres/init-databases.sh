#!/usr/bin/env bash
# /docker-entrypoint-initdb.d hook of the postgres container: runs once, on an empty data
# directory, as the superuser. Names are fixed here; passwords come from the environment
# (docker-compose.yml passes them from .env).
set -euo pipefail

: "${WAREHOUSE_DB_PASSWORD:?}" "${DAGSTER_PG_PASSWORD:?}" "${MLFLOW_DB_PASSWORD:?}" "${READER_DB_PASSWORD:?}"

psql --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v warehouse_db=warehouse -v warehouse_user=fx_warehouse \
  -v warehouse_password="$WAREHOUSE_DB_PASSWORD" \
  -v dagster_db=dagster -v dagster_user=fx_dagster -v dagster_password="$DAGSTER_PG_PASSWORD" \
  -v mlflow_db=mlflow -v mlflow_user=fx_mlflow -v mlflow_password="$MLFLOW_DB_PASSWORD" \
  -v reader_user=fx_reader -v reader_password="$READER_DB_PASSWORD" \
  -f /fx/init.sql
