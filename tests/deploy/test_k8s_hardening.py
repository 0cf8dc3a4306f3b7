"""The Kubernetes path's security: NetworkPolicies mirroring compose's networks, pods
without service account tokens and with bounded emptyDirs, a PodDisruptionBudget, the
chart's webserver and daemon hardened, and a Secret recipe that fails on an unset
variable (run here with bash and a stand-in kubectl that records what it was given)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.compose import ROOT

K8S = ROOT / "deploy" / "k8s"


def documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def policy(name: str) -> dict[str, Any]:
    (doc,) = [
        d for d in documents() if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == name
    ]
    return doc["spec"]


def peers(rules: list[dict[str, Any]]) -> set[str]:
    """The app.kubernetes.io/name of every pod a rule lets through ('*' for any address)."""
    out = set()
    for rule in rules:
        targets = rule.get("from", rule.get("to"))
        if targets is None:
            out.add("*")
            continue
        for t in targets:
            labels = t.get("podSelector", {}).get("matchLabels", {})
            out.add(labels.get("app.kubernetes.io/name") or labels.get("k8s-app", "?"))
    return out


def test_every_pod_is_closed_to_ingress_it_was_not_given() -> None:
    spec = policy("default-deny")
    assert spec["podSelector"] == {} and spec["policyTypes"] == ["Ingress"]
    assert "ingress" not in spec


def test_the_dashboard_reaches_the_warehouse_and_registry_only_and_only_the_proxy_reaches_it() -> (
    None
):
    spec = policy("dashboard")
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    assert peers(spec["ingress"]) == {"proxy"}
    assert peers(spec["egress"]) == {"kube-dns", "mlflow", "*"}
    (anywhere,) = [r for r in spec["egress"] if "to" not in r]
    assert anywhere["ports"] == [{"protocol": "TCP", "port": 5432}]  # PostgreSQL, managed


def test_the_code_location_and_webservers_admit_only_dagster_pods_and_the_proxy() -> None:
    spec = policy("dagster")
    assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "dagster"}
    assert peers(spec["ingress"]) == {"dagster", "proxy"}
    assert peers(policy("model-service")["ingress"]) == {"dagster", "prometheus", "proxy"}
    assert peers(policy("mlflow")["ingress"]) == {"dagster", "model-service", "dashboard", "proxy"}


@pytest.mark.parametrize(
    ("name", "user"), [("model-service", "fx-service"), ("dashboard", "fx-dashboard")]
)
def test_pods_hold_no_api_token_and_bounded_scratch_space(name: str, user: str) -> None:
    (deployment,) = [
        d for d in documents() if d["kind"] == "Deployment" and d["metadata"]["name"] == name
    ]
    pod = deployment["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    for volume in pod["volumes"]:
        assert volume["emptyDir"].get("sizeLimit"), volume
    (c,) = pod["containers"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    env = {e["name"]: e for e in c["env"]}
    assert env["MLFLOW_TRACKING_USERNAME"]["value"] == user
    ref = env["MLFLOW_TRACKING_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] == "fx-mlflow-users"


def test_the_model_service_keeps_a_pod_through_a_drain() -> None:
    (pdb,) = [d for d in documents() if d["kind"] == "PodDisruptionBudget"]
    assert pdb["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "model-service"}
    (hpa,) = [d for d in documents() if d["kind"] == "HorizontalPodAutoscaler"]
    assert 1 <= pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]


def test_the_charts_webserver_and_daemon_are_hardened_and_viewers_get_a_read_only_one() -> None:
    values = yaml.safe_load((ROOT / "deploy" / "helm" / "values.yaml").read_text())
    assert values["dagsterWebserver"]["enableReadOnly"] is True
    assert not values.get("ingress", {}).get("enabled"), "the webserver only behind the proxy"
    for part in ("dagsterWebserver", "dagsterDaemon"):
        spec = values[part]
        assert spec["podSecurityContext"]["runAsNonRoot"] is True, part
        assert spec["securityContext"]["allowPrivilegeEscalation"] is False, part
        assert spec["securityContext"]["capabilities"] == {"drop": ["ALL"]}, part
        assert spec["resources"]["limits"]["memory"], part
        assert spec["resources"]["requests"]["cpu"], part


def secret_recipe() -> str:
    text = (ROOT / "docs" / "deploy.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    (recipe,) = [b for b in blocks if "create secret generic" in b]
    return "\n".join(line.strip() for line in recipe.splitlines())


VARIABLES = {
    "DAGSTER_PG_PASSWORD": "d" * 16,
    "WAREHOUSE_DB_PASSWORD": "w" * 16,
    "READER_DB_PASSWORD": "r" * 16,
    "PGHOST": "db.internal",
    "FX_API_TOKEN": "t" * 32,
    "TWELVEDATA_API_KEY": "k" * 16,
    "FX_MLFLOW_TRAINING_PASSWORD": "a" * 16,
    "FX_MLFLOW_SERVICE_PASSWORD": "s" * 16,
    "FX_MLFLOW_DASHBOARD_PASSWORD": "b" * 16,
}


def run_recipe(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {tmp_path / "calls"}\n')
    kubectl.chmod(0o755)
    return subprocess.run(
        ["bash", "-c", secret_recipe()],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_the_secret_recipe_stores_every_secret_and_stops_at_an_unset_one(tmp_path: Path) -> None:
    done = run_recipe(tmp_path, VARIABLES)
    assert done.returncode == 0, done.stderr
    calls = (tmp_path / "calls").read_text()
    for value in VARIABLES.values():
        assert value in calls
    assert "MLFLOW_TRACKING_USERNAME=fx-training" in calls
    (tmp_path / "calls").unlink()
    for missing in ("FX_API_TOKEN", "FX_MLFLOW_SERVICE_PASSWORD"):
        env = {k: v for k, v in VARIABLES.items() if k != missing}
        done = run_recipe(tmp_path, env)
        assert done.returncode != 0 and missing in done.stderr, done.stderr
        stored = (tmp_path / "calls").read_text() if (tmp_path / "calls").exists() else ""
        assert "=\n" not in stored and '=""' not in stored
