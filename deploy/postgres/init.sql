-- Databases and roles of the deployment, one database and one login role per service.
-- Run once by the superuser on an empty server: by init-databases.sh in the postgres
-- container, and by the full-stack test with names of its own. psql variables:
--   warehouse_db warehouse_user warehouse_password   the eur_usd_* tables (Dagster writes)
--   dagster_db   dagster_user   dagster_password     Dagster runs, events, schedules
--   mlflow_db    mlflow_user    mlflow_password      MLflow tracking and registry, and
--                                                    <mlflow_db>_auth: its users and grants
--   reader_user  reader_password                     read-only warehouse role for the
--                                                    dashboard and the model service
\set ON_ERROR_STOP on

CREATE ROLE :"warehouse_user" LOGIN PASSWORD :'warehouse_password';
CREATE ROLE :"dagster_user" LOGIN PASSWORD :'dagster_password';
CREATE ROLE :"mlflow_user" LOGIN PASSWORD :'mlflow_password';
-- Read-only even if a grant slips: every transaction of this role starts read-only.
CREATE ROLE :"reader_user" LOGIN PASSWORD :'reader_password';
ALTER ROLE :"reader_user" SET default_transaction_read_only = on;

CREATE DATABASE :"warehouse_db" OWNER :"warehouse_user";
CREATE DATABASE :"dagster_db" OWNER :"dagster_user";
CREATE DATABASE :"mlflow_db" OWNER :"mlflow_user";
-- MLflow's authentication (users, password hashes, grants), apart from its runs.
\set mlflow_auth_db :mlflow_db '_auth'
CREATE DATABASE :"mlflow_auth_db" OWNER :"mlflow_user";

-- A service connects to its own database only.
REVOKE ALL ON DATABASE :"warehouse_db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"dagster_db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"mlflow_db" FROM PUBLIC;
REVOKE ALL ON DATABASE :"mlflow_auth_db" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"warehouse_db" TO :"reader_user";

\connect :"warehouse_db"
-- The reader sees the tables that exist and every table the warehouse role creates later,
-- and can create or change nothing.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"reader_user";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"reader_user";
ALTER DEFAULT PRIVILEGES FOR ROLE :"warehouse_user" IN SCHEMA public
    GRANT SELECT ON TABLES TO :"reader_user";
