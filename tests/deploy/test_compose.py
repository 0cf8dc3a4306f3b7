"""docker-compose.yml and .env.example, checked without a Docker engine.

The file against the Compose Specification schema and through Debian's
`docker-compose config`; every service present, healthy before its dependents, on one
network; every environment variable the code reads provided to the service that runs
that code; .env.example complete and secret-free.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.support import ROOT
from tests.support.compose import compose, services
from tests.support.env_scan import env_reads

LONG_RUNNING = {
    "postgres",
    "minio",
    "mlflow",
    "dagster-code",
    "dagster-webserver",
    "dagster-daemon",
    "model-service",
    "dashboard",
    "prometheus",
    "alertmanager",
    "dagster-webserver-readonly",
    "proxy",
    "rabbitmq",
    "celery-worker",
}
ONE_SHOT = {"minio-init", "warehouse-init", "mlflow-init"}
# The code each service of ours runs: its environment must hold what that code reads.
ENTRY_MODULES = {
    # definitions.py loads the defs folder at run time; resources.py is what reads settings.
    "dagster-code": "fx_assets.defs.resources",
    # The workers load the same definitions: the same reads.
    "celery-worker": "fx_assets.defs.resources",
    "model-service": "fx_serving.app",
    "dashboard": "fx_dash.app",
}
SECRET = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY")


def env_example() -> dict[str, str]:
    out = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def compose_variables() -> dict[str, str]:
    """``${VAR...}`` references of docker-compose.yml: name -> modifier (``:?``, ``:-`` or '')."""
    text = (ROOT / "docker-compose.yml").read_text()
    found: dict[str, str] = {}
    for m in re.finditer(r"(?<!\$)\$\{([A-Z0-9_]+)(:?[-?])?[^}]*\}", text):
        found[m.group(1)] = m.group(2) or found.get(m.group(1), "")
    return found


def dockerfile_runtime_env() -> set[str]:
    """Variables the runtime stage of the Dockerfile sets with ENV."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    runtime = re.split(r"^FROM\s", text, flags=re.M)[-1]
    names: set[str] = set()
    for line in runtime.splitlines():
        if line.startswith("ENV "):
            names |= set(re.findall(r"([A-Z_][A-Z0-9_]*)=", line))
    return names


# --- the Compose file ------------------------------------------------------------------
def test_compose_file_matches_the_compose_specification() -> None:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath("compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert not errors, errors
    # The schema is strict enough to catch a typo in a condition or a key.
    broken = copy.deepcopy(compose())
    broken["services"]["mlflow"]["depends_on"]["postgres"]["condition"] = "service_up"
    broken["services"]["dashboard"]["helthcheck"] = broken["services"]["dashboard"]["healthcheck"]
    assert len(list(validator.iter_errors(broken))) >= 2


def _docker_compose() -> str:
    exe = shutil.which("docker-compose")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("docker-compose is missing: .ci/run installs Debian's docker-compose")
        pytest.skip("docker-compose not installed (apt-get install docker-compose)")
    return exe


def test_docker_compose_config_accepts_the_file_with_env_example(tmp_path: Path) -> None:
    exe = _docker_compose()
    clean = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}

    def config(env_file: Path) -> subprocess.CompletedProcess[str]:
        cmd = [exe, "--env-file", str(env_file), "-f", str(ROOT / "docker-compose.yml")]
        return subprocess.run(
            [*cmd, "config"], capture_output=True, text=True, env=clean, timeout=120, cwd=ROOT
        )

    ok = config(ROOT / ".env.example")
    assert ok.returncode == 0, ok.stderr
    resolved = yaml.safe_load(ok.stdout)
    assert set(resolved["services"]) == LONG_RUNNING | ONE_SHOT
    # Secrets come from .env: without them the file refuses to resolve.
    empty = tmp_path / "empty.env"
    empty.write_text("")
    missing = config(empty)
    assert missing.returncode != 0
    assert "in .env" in missing.stderr, missing.stderr


def test_compose_covers_every_service_with_healthchecks_and_ordering() -> None:
    svc = services()
    assert set(svc) == LONG_RUNNING | ONE_SHOT
    for name in LONG_RUNNING:
        assert svc[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in ONE_SHOT:
        assert svc[name].get("restart", "no") == "no", name
    for name, spec in svc.items():
        for dep, cond in spec.get("depends_on", {}).items():
            expected = (
                "service_healthy" if dep in LONG_RUNNING else "service_completed_successfully"
            )
            assert cond == {"condition": expected}, (name, dep, cond)
    # Start order is a graph without cycles.
    order: list[str] = []
    pending = dict.fromkeys(svc)
    while pending:
        ready = [n for n in pending if set(svc[n].get("depends_on", {})) <= set(order)]
        assert ready, f"depends_on cycle among {list(pending)}"
        order += ready
        for n in ready:
            pending.pop(n)
    # Only the proxy publishes ports: every UI and API is reached through it.
    assert {n for n, spec in svc.items() if spec.get("ports")} == {"proxy"}
    published = {int(port.rsplit(":", 2)[-2]) for port in svc["proxy"]["ports"]}
    assert published == {3000, 3001, 5000, 8000, 8050, 9090}
    for port in svc["proxy"]["ports"]:
        assert port.startswith("${FX_BIND:-127.0.0.1}:"), port


def test_services_use_their_own_roles_and_predictions_go_through_the_model_service() -> None:
    svc = services()

    def env(name: str) -> dict[str, str]:
        return svc[name]["environment"]

    assert env("dagster-code")["FX_MODEL_SERVICE_URL"] == "http://model-service:8000"
    for writer in ("dagster-code", "celery-worker", "warehouse-init"):
        assert env(writer)["FX_WAREHOUSE_URL"].startswith("postgresql://fx_warehouse:"), writer
    for reader in ("model-service", "dashboard"):
        assert env(reader)["FX_WAREHOUSE_URL"].startswith("postgresql://fx_reader:"), reader
    assert env("mlflow")["MLFLOW_BACKEND_STORE_URI"].startswith("postgresql://fx_mlflow:")
    assert env("mlflow")["MLFLOW_ARTIFACTS_DESTINATION"].startswith("s3://")
    # The roles and databases the URLs name are the ones the init script creates.
    init = (ROOT / "deploy" / "postgres" / "init-databases.sh").read_text()
    for name in ("fx_warehouse", "fx_dagster", "fx_mlflow", "fx_reader"):
        assert f"_user={name}" in init, name
    for db in ("warehouse", "dagster", "mlflow"):
        assert f"{db}_db={db}" in init, db
    ours = {n for n, s in svc.items() if s.get("build")}
    assert ours == set(ENTRY_MODULES) | {"mlflow", "dagster-webserver", "dagster-daemon"} | {
        "warehouse-init",
        "mlflow-init",
        "dagster-webserver-readonly",
    }


# --- what the code reads ---------------------------------------------------------------
def _module_file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _project_imports(tree: ast.AST) -> set[str]:
    """Project modules a module imports, at module level or inside functions."""
    out: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            if name.split(".")[0] in ENTRY_PACKAGES and _module_file(name):
                out.add(name)
    return out


ENTRY_PACKAGES = ("fx_assets", "fx_serving", "fx_dash")


def variables_read_by(entry: str) -> dict[str, set[str]]:
    """Variable -> the modules (reachable from ``entry``) that read it."""
    seen: set[str] = set()
    todo = [entry]
    reads: dict[str, set[str]] = {}
    while todo:
        module = todo.pop()
        path = _module_file(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        tree = ast.parse(path.read_text())
        for var in env_reads(tree):
            reads.setdefault(var, set()).add(module)
        todo += sorted(_project_imports(tree) - seen)
    return reads


def test_env_reads_finds_literal_loop_and_envvar_reads() -> None:
    tree = ast.parse(
        "import os\nfrom dagster import EnvVar\n"
        "KNOBS = {'FX_A': 1, 'FX_B': 2}\n"
        "def f():\n"
        "    os.environ.get('FX_C'); os.getenv('FX_D'); os.environ['FX_E']; EnvVar('FX_F')\n"
        "    x = 'FX_G' in os.environ\n"
        "    os.environ.setdefault('FX_WRITTEN', '1')\n"
        "    for var, _ in KNOBS.items():\n"
        "        os.environ.get(var)\n"
    )
    assert env_reads(tree) == {"FX_A", "FX_B", "FX_C", "FX_D", "FX_E", "FX_F", "FX_G"}


# A container has no FX_HOME worth keeping: these must come from the compose file.
NO_CONTAINER_DEFAULT = {"FX_WAREHOUSE_URL", "MLFLOW_TRACKING_URI"}
# Read by Dagster, MLflow or the image itself, not by the Settings class.
TOOL_VARIABLES = re.compile(r"^(DAGSTER_|MLFLOW_|PROMETHEUS_|GUNICORN_|PYTHON|PATH$|HOME$)")


@pytest.mark.parametrize("service", sorted(ENTRY_MODULES))
def test_every_variable_the_code_reads_is_provided_to_its_service(service: str) -> None:
    """Direct environment reads are provided; the settings a container cannot default are."""
    reads = variables_read_by(ENTRY_MODULES[service])
    provided = set(services()[service].get("environment", {})) | dockerfile_runtime_env()
    settings_reader = "fx_assets.core.settings" in modules_reached(ENTRY_MODULES[service])
    assert settings_reader, f"{service} does not load the settings"
    missing = NO_CONTAINER_DEFAULT - provided
    assert not missing, f"{service} does not get: {sorted(missing)}"
    direct = {var: sorted(mods) for var, mods in reads.items() if var not in provided}
    assert not direct, f"{service} reads, outside the Settings class, unset: {direct}"


@pytest.mark.parametrize("service", sorted(ENTRY_MODULES))
def test_every_variable_a_service_is_given_is_declared(service: str) -> None:
    """A misspelt variable in the compose file would be ignored silently: none is."""
    from fx_assets.core.settings import Settings, env_name

    declared = {env_name(field) for field in Settings.model_fields}
    given = set(services()[service].get("environment", {}))
    unknown = {v for v in given if v not in declared and not TOOL_VARIABLES.match(v)}
    assert not unknown, f"{service} is given variables nothing reads: {sorted(unknown)}"


def modules_reached(entry: str) -> set[str]:
    """The project modules ``entry`` imports, directly or not."""
    seen: set[str] = set()
    todo = [entry]
    while todo:
        module = todo.pop()
        path = _module_file(module)
        if module in seen or path is None:
            continue
        seen.add(module)
        todo += sorted(_project_imports(ast.parse(path.read_text())) - seen)
    return seen


def _env_refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        if set(node) == {"env"}:
            return {node["env"]}
        return set().union(*(_env_refs(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_env_refs(v) for v in node)) if node else set()
    return set()


def test_dagster_config_files_get_their_variables() -> None:
    dagster_yaml = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    workspace = yaml.safe_load((ROOT / "deploy" / "dagster" / "workspace.yaml").read_text())
    instance_vars, workspace_vars = _env_refs(dagster_yaml), _env_refs(workspace)
    assert instance_vars >= {"DAGSTER_PG_HOST", "DAGSTER_PG_PASSWORD"}
    assert workspace_vars == {"DAGSTER_CODE_HOST", "DAGSTER_CODE_PORT"}
    # Runs are orchestrated in the code server (the default run launcher) and their steps
    # execute on the Celery workers: both need the instance.
    for name in ("dagster-code", "celery-worker", "dagster-webserver", "dagster-daemon"):
        provided = set(services()[name]["environment"])
        assert instance_vars <= provided, (name, instance_vars - provided)
    for name in ("dagster-webserver", "dagster-daemon"):
        assert workspace_vars <= set(services()[name]["environment"]), name


def test_env_example_lists_every_variable_and_holds_no_secret() -> None:
    example, used = env_example(), compose_variables()
    assert set(example) - {"COMPOSE_PROJECT_NAME"} == set(used)
    for var, modifier in used.items():
        if modifier == ":?":
            assert example[var], f"{var} is required by docker-compose.yml: give a placeholder"
    for var, value in example.items():
        if SECRET.search(var):
            assert value == "" or value.startswith("change-me"), f"{var} looks like a real secret"
    assert ".env" in (ROOT / ".gitignore").read_text().splitlines()


# --- Prometheus --------------------------------------------------------------------------

PROMETHEUS = ROOT / "deploy" / "prometheus"


def test_prometheus_scrapes_the_model_service_and_alerts_through_alertmanager() -> None:
    from fx_serving import metrics

    spec = services()["prometheus"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in spec["volumes"]
    assert spec["depends_on"] == {"model-service": {"condition": "service_healthy"}}
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    (target,) = job["static_configs"][0]["targets"]
    host, _, port = target.partition(":")
    assert host == "model-service"
    assert f"--port={port}" in services()["model-service"]["command"]
    # Every rule file it loads is in the mounted folder.
    for path in config["rule_files"]:
        assert (PROMETHEUS / Path(path).relative_to("/etc/prometheus")).is_file(), path
    (manager,) = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert manager == "alertmanager:9093" and "alertmanager" in services()
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    by_name = {r["alert"]: r for g in groups for r in g["rules"]}
    assert set(by_name) == {
        "ModelServiceDown",
        "ModelServiceP99LatencyHigh",
        "FeatureDriftCheckFailing",
        "PerformanceDecayCheckFailing",
        "EtlStale",
        "ChampionReloadFailed",
    }
    # Every metric a monitoring rule reads is one the model service exports.
    assert metrics.instruments().reload_failures._name in by_name["ChampionReloadFailed"]["expr"]
    assert f'up{{job="{job["job_name"]}"}} == 0' in by_name["ModelServiceDown"]["expr"]
    latency = by_name["ModelServiceP99LatencyHigh"]["expr"]
    assert f"{metrics.instruments().latency._name}_bucket" in latency and "0.99" in latency
    assert "> 0.05" in latency
    assert 0.05 in metrics.LATENCY_BUCKETS  # the threshold is a bucket edge: an exact quantile


def test_promtool_accepts_the_configuration_and_rules(tmp_path: Path) -> None:
    exe = shutil.which("promtool")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing: .ci/run installs Debian's prometheus")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    rules = subprocess.run(
        [exe, "check", "rules", str(PROMETHEUS / "alerts.yml")], capture_output=True, text=True
    )
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "6 rules found" in rules.stdout
    # The folder as the container mounts it: the config names its rules by that path.
    mounted = tmp_path / "etc-prometheus"
    shutil.copytree(PROMETHEUS, mounted)
    config = mounted / "prometheus.yml"
    config.write_text(config.read_text().replace("/etc/prometheus/", f"{mounted}/"))
    checked = subprocess.run([exe, "check", "config", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS" in checked.stdout + checked.stderr


# --- Celery ------------------------------------------------------------------------------
def test_workers_run_the_image_with_the_code_servers_settings_on_the_broker() -> None:
    svc = services()
    worker, code = svc["celery-worker"], svc["dagster-code"]
    assert worker["build"] == code["build"] and worker["image"] == code["image"]
    # Same definitions, same settings: a step executes as the run that sent it expects.
    assert worker["environment"] == code["environment"]
    env = worker["environment"]
    # Celery unless .env says otherwise (in_process: steps in the code server).
    assert env["FX_EXECUTOR"] == "${FX_EXECUTOR:-celery}"
    assert env["FX_CELERY_BROKER_URL"].startswith("pyamqp://fx:${RABBITMQ_PASSWORD:?")
    assert env["FX_CELERY_BROKER_URL"].endswith("@rabbitmq:5672//")
    # Values between steps on MinIO, with a key of their own (not MLflow's, not root).
    assert env["FX_S3_ENDPOINT_URL"] == "http://minio:9000"
    assert env["FX_S3_ACCESS_KEY"].startswith("${FX_S3_ACCESS_KEY:?")
    init = svc["minio-init"]
    assert "FX_S3_ACCESS_KEY" in init["environment"] and "$$FX_IO_BUCKET" in init["command"][0]
    # The worker command: dagster-celery with the image's copy of deploy/dagster/celery.yaml.
    assert worker["command"][:3] == ["dagster-celery", "worker", "start"]
    assert "--config-yaml=/opt/dagster/celery.yaml" in worker["command"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY deploy/dagster/celery.yaml /opt/dagster/celery.yaml" in dockerfile
    assert str(worker["deploy"]["replicas"]).startswith("${FX_CELERY_WORKERS:-")
    for name in ("celery-worker", "dagster-code"):
        assert svc[name]["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}, name
    rabbit = svc["rabbitmq"]
    assert rabbit["environment"]["RABBITMQ_DEFAULT_PASS"].startswith("${RABBITMQ_PASSWORD:?")
    assert "ports" not in rabbit and rabbit["networks"] == ["broker"]
