"""The Kubernetes path: deploy/k8s/ manifests against the Kubernetes API's JSON schemas
(kubernetes-validate ships them; strict: an unknown or misspelt field fails), the fields
that matter compared with docker-compose.yml and the Dockerfile, and the values for
Dagster's Helm chart compared with the repository's dagster.yaml."""

from __future__ import annotations

import copy
import re
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.support import ROOT
from tests.support.compose import services

K8S = ROOT / "deploy" / "k8s"
# The oldest Kubernetes release still supported upstream when this was written; the
# manifests use nothing newer (autoscaling/v2, startup probes).
KUBERNETES_VERSION = "1.31.0"
SECRET_VARS = {"FX_WAREHOUSE_URL", "FX_API_TOKEN"}  # Secret fx-reader-env


def documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def kind(kind_name: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in documents() if d["kind"] == kind_name and d["metadata"]["name"] == name]
    return doc


def container(name: str) -> dict[str, Any]:
    (c,) = kind("Deployment", name)["spec"]["template"]["spec"]["containers"]
    return c


def values() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "deploy" / "helm" / "values.yaml").read_text())


def dockerfile_user() -> int:
    users = re.findall(r"^USER\s+(\d+)", (ROOT / "Dockerfile").read_text(), flags=re.M)
    return int(users[-1].split(":")[0])


# --- the manifests ---------------------------------------------------------------------
@pytest.mark.parametrize("doc", documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_manifest_matches_the_kubernetes_schema(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_misspelt_or_mistyped_field() -> None:
    broken = copy.deepcopy(kind("Deployment", "model-service"))
    c = broken["spec"]["template"]["spec"]["containers"][0]
    c["readinesProbe"] = c.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    broken = copy.deepcopy(kind("Deployment", "model-service"))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("name", ["model-service", "dashboard"])
def test_deployment_runs_the_compose_command_of_the_image_as_its_user(name: str) -> None:
    c = container(name)
    compose_cmd = services()[name]["command"]
    # Same program and app; only options (workers) may differ.
    assert [w for w in c["command"] if not w.startswith("-")] == [
        w for w in compose_cmd if not w.startswith("-")
    ]
    image = values()["dagster-user-deployments"]["deployments"][0]["image"]["repository"]
    assert c["image"].rsplit(":", 1)[0] == image, "one image for the code location and services"
    pod = kind("Deployment", name)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == dockerfile_user()
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    # A read-only root still has somewhere to write: FX_HOME and /tmp.
    mounts = {m["mountPath"] for m in c.get("volumeMounts", [])}
    if c["securityContext"].get("readOnlyRootFilesystem"):
        assert {"/var/lib/fx", "/tmp"} <= mounts
    # Every variable compose gives the service: set here, or from the Secret.
    env = {e["name"] for e in c.get("env", [])}
    assert {s["secretRef"]["name"] for s in c["envFrom"]} == {"fx-reader-env"}
    missing = set(services()[name]["environment"]) - env - SECRET_VARS
    assert not missing, missing
    assert not env & SECRET_VARS, "secrets belong in the Secret, not the manifest"
    port = c["ports"][0]["containerPort"]
    assert str(port) in " ".join(c["command"])
    svc = kind("Service", name)
    assert svc["spec"]["selector"] == kind("Deployment", name)["spec"]["selector"]["matchLabels"]
    assert svc["spec"]["ports"][0]["targetPort"] in (port, c["ports"][0]["name"])


def test_model_service_is_ready_on_ready_alive_on_health_and_autoscaled() -> None:
    c = container("model-service")
    ready = c["readinessProbe"]["exec"]["command"]
    # The image's healthcheck, asking /ready with the bearer token (an httpGet probe
    # cannot read a Secret); tests/deploy/test_container.py runs this very command.
    assert ready[:3] == ["python", "/opt/fx/healthcheck.py", "--path=/ready"]
    assert f"--port={c['ports'][0]['containerPort']}" in ready
    assert c["livenessProbe"]["httpGet"]["path"] == "/health"
    hpa = kind("HorizontalPodAutoscaler", "model-service")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "model-service",
    }
    assert 1 < hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert c["resources"]["requests"]["cpu"], "CPU utilisation needs a CPU request"


# --- the Helm values -------------------------------------------------------------------
def test_helm_values_serve_the_code_location_from_the_image() -> None:
    v = values()
    (deployment,) = v["dagster-user-deployments"]["deployments"]
    assert v["dagster-user-deployments"]["enabled"] is True
    compose_args = services()["dagster-code"]["command"]
    module = next(w.split("=", 1)[1] for w in compose_args if w.startswith("--module-name="))
    assert deployment["dagsterApiGrpcArgs"] == ["--module-name", module]
    assert module == "fx_assets.definitions"
    assert deployment["includeConfigInLaunchedRuns"] == {"enabled": True}
    assert deployment["envSecrets"] == [{"name": "fx-code-env"}]
    assert deployment["podSecurityContext"]["runAsUser"] == dockerfile_user()
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert env["FX_MODEL_SERVICE_URL"].endswith(":8000")  # the Service of deploy/k8s
    assert not {"FX_WAREHOUSE_URL", "FX_API_TOKEN", "TWELVEDATA_API_KEY"} & set(env)


def test_helm_values_launch_runs_as_pods_on_the_external_postgres_with_secrets() -> None:
    v = values()
    assert v["runLauncher"]["type"] == "K8sRunLauncher"
    assert v["runLauncher"]["config"]["k8sRunLauncher"]["envSecrets"] == [{"name": "fx-code-env"}]
    pg = v["postgresql"]
    assert pg["enabled"] is False and pg["postgresqlHost"]
    assert (pg["postgresqlUsername"], pg["postgresqlDatabase"]) == ("fx_dagster", "dagster")
    instance = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    storage = instance["storage"]["custom"]["config"]
    assert pg["postgresqlScheme"] == storage["postgres_db"]["scheme"]
    assert "postgresqlPassword" not in pg and v["generatePostgresqlPasswordSecret"] is False
    assert v["global"]["postgresqlSecretName"]

    def strings(node: Any) -> list[tuple[str, str]]:
        """(key, value) of every string value, at any depth."""
        if isinstance(node, list):
            return [kv for child in node for kv in strings(child)]
        if not isinstance(node, dict):
            return []
        here = [(k, x) for k, x in node.items() if isinstance(x, str)]
        return here + [kv for child in node.values() for kv in strings(child)]

    secret = re.compile(r"(?i)password|token|secret_?key")
    assert not [k for k, x in strings(v) if secret.search(k) and x], "a secret in the values"


def test_helm_values_repeat_the_instance_settings_of_dagster_yaml() -> None:
    instance = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    daemon = values()["dagsterDaemon"]
    coordinator = daemon["runCoordinator"]
    assert coordinator["enabled"] and coordinator["type"] == instance["run_coordinator"]["class"]
    queued = coordinator["config"]["queuedRunCoordinator"]
    expected = instance["concurrency"]["runs"]
    assert queued["maxConcurrentRuns"] == expected["max_concurrent_runs"]
    assert (
        queued["dequeueIntervalSeconds"]
        == (instance["run_coordinator"]["config"]["dequeue_interval_seconds"])
    )
    assert queued["tagConcurrencyLimits"] == expected["tag_concurrency_limits"]
    # The pools' limits too: without them a whole-book backfill on the cluster would run
    # every pair's training and backtest at once.
    pools = values()["concurrency"]
    assert pools["enabled"]
    assert pools["pools"] == {
        "defaultLimit": instance["concurrency"]["pools"]["default_limit"],
        "granularity": instance["concurrency"]["pools"]["granularity"],
    }
    assert "runs" not in pools, "the chart takes the run queue's limits in one place only"
    retries = instance["run_retries"]
    assert daemon["runRetries"] == {
        "enabled": retries["enabled"],
        "maxRetries": retries["max_retries"],
        "retryOnAssetOrOpFailure": retries["retry_on_asset_or_op_failure"],
    }
    monitoring = instance["run_monitoring"]
    assert daemon["runMonitoring"] == {
        "enabled": monitoring["enabled"],
        "startTimeoutSeconds": monitoring["start_timeout_seconds"],
        "pollIntervalSeconds": monitoring["poll_interval_seconds"],
    }
    retention = values()["retention"]
    assert (
        retention["schedule"]["purgeAfterDays"]
        == (instance["retention"]["schedule"]["purge_after_days"])
    )
    assert (
        retention["sensor"]["purgeAfterDays"] == instance["retention"]["sensor"]["purge_after_days"]
    )
    assert values()["telemetry"] == instance["telemetry"]


def test_chart_version_matches_the_locked_dagster() -> None:
    lock = (ROOT / "requirements.lock").read_text()
    (dagster,) = re.findall(r"^dagster==(\S+)", lock, flags=re.M)
    text = (ROOT / "deploy" / "helm" / "values.yaml").read_text()
    assert f"--version {dagster}" in text, "the chart's version is the dagster package's"
    assert f"--version {dagster}" in (ROOT / "docs" / "deploy.md").read_text()


def test_helm_values_run_steps_as_kubernetes_jobs_with_values_on_object_storage() -> None:
    from fx_assets.core.settings import Settings

    (deployment,) = values()["dagster-user-deployments"]["deployments"]
    env = {e["name"]: e["value"] for e in deployment["env"]}
    assert env["FX_EXECUTOR"] == "k8s" and env["FX_IO_BUCKET"]
    # What the code location makes of them: a valid setting, and the bucket it needs.
    settings = Settings.model_validate({k.removeprefix("FX_").lower(): v for k, v in env.items()})
    assert settings.executor == "k8s" and settings.io_bucket == env["FX_IO_BUCKET"]
    # The step pods' image holds dagster-k8s (requirements.lock, through deploy/lock.in).
    assert re.search(r"^dagster-k8s==", (ROOT / "requirements.lock").read_text(), flags=re.M)
    assert "FX_S3_SECRET_KEY" not in env  # a secret: in fx-code-env
