"""docker-compose.yml's security settings, read as data (no Docker engine here).

Every container hardened; networks split so each service reaches only what it needs;
MLflow authenticating with one identity per client; the API token required; images
pinned.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.compose import ROOT, compose, services

# Who each service may reach (share a network with), and nobody else.
MAY_REACH = {
    "postgres": {
        "warehouse-init",
        "mlflow",
        "dagster-code",
        "dagster-webserver",
        "dagster-webserver-readonly",
        "dagster-daemon",
        "model-service",
        "dashboard",
        "celery-worker",
    },
    # The workers keep the values between steps in their own bucket.
    "minio": {"minio-init", "mlflow", "celery-worker"},
    # Who publishes steps and who runs them; nobody else.
    "rabbitmq": {"dagster-code", "celery-worker"},
    "dashboard": {"postgres", "mlflow", "proxy"},
    "model-service": {
        "postgres",
        "mlflow",
        "dagster-code",
        "celery-worker",
        "prometheus",
        "proxy",
    },
    "prometheus": {"model-service", "alertmanager", "proxy"},
    "alertmanager": {"prometheus"},
    "mlflow-init": {"mlflow", "dagster-code", "celery-worker"},
}


def reach(name: str) -> set[str]:
    """Services sharing at least one network with ``name``."""
    svc = services()
    mine = set(svc[name].get("networks", []))
    return {other for other, spec in svc.items() if other != name and mine & set(spec["networks"])}


@pytest.mark.parametrize("name", sorted(services()))
def test_every_container_is_hardened_and_limited(name: str) -> None:
    spec = services()[name]
    assert spec.get("cap_drop") == ["ALL"], name
    assert "no-new-privileges:true" in spec.get("security_opt", []), name
    assert spec.get("read_only") is True, name
    assert any(t.startswith("/tmp:") for t in spec.get("tmpfs", [])), name
    assert re.fullmatch(r"\d+[mg]", str(spec.get("mem_limit", ""))), name
    assert int(spec.get("pids_limit", 0)) > 0, name
    assert "privileged" not in spec, name
    # Caddy's binary has a file capability exec needs (see the compose file): nothing else.
    assert spec.get("cap_add", []) == (["NET_BIND_SERVICE"] if name == "proxy" else []), name
    assert spec.get("networks"), f"{name} is on no network of its own"


def test_every_network_is_internal_but_the_ways_out() -> None:
    # The proxy's published ports; the code server's and the Celery workers' downloads and
    # alert webhooks (a step runs on either), and Alertmanager's (the same webhook).
    networks: dict[str, Any] = compose()["networks"]
    open_ = {n for n, spec in networks.items() if not (spec or {}).get("internal")}
    assert open_ == {"public", "egress", "alert-egress"}
    on_open = {n for n, spec in services().items() if open_ & set(spec["networks"])}
    assert on_open == {"proxy", "dagster-code", "celery-worker", "alertmanager"}
    used = {net for spec in services().values() for net in spec["networks"]}
    assert used == set(networks), "a declared network nobody uses, or an undeclared one"


@pytest.mark.parametrize("name", sorted(MAY_REACH))
def test_each_service_reaches_only_what_it_needs(name: str) -> None:
    assert reach(name) == MAY_REACH[name]


def test_the_dashboard_never_reaches_the_code_server_minio_or_the_run_launcher() -> None:
    assert not reach("dashboard") & {
        "dagster-code",
        "celery-worker",
        "rabbitmq",
        "minio",
        "dagster-webserver",
        "dagster-daemon",
    }


def test_mlflow_authenticates_and_each_client_signs_in_as_its_own_identity() -> None:
    svc = services()
    mlflow = svc["mlflow"]
    assert "--app-name=basic-auth" in mlflow["command"]
    env = mlflow["environment"]
    assert env["MLFLOW_AUTH_CONFIG_PATH"] == "/opt/fx/mlflow/basic_auth.ini"
    assert env["PGDATABASE"] == "mlflow_auth" and env["PGUSER"] == "fx_mlflow"
    assert "MLFLOW_AUTH_ADMIN_PASSWORD" in env and "MLFLOW_FLASK_SERVER_SECRET_KEY" in env
    assert svc["mlflow-init"]["command"] == ["fx", "mlflow-users"]
    identity = {
        "dagster-code": "fx-training",
        "model-service": "fx-service",
        "dashboard": "fx-dashboard",
    }
    for name, user in identity.items():
        client = svc[name]["environment"]
        assert client["MLFLOW_TRACKING_USERNAME"] == user, name
        assert client["MLFLOW_TRACKING_PASSWORD"].startswith("${FX_MLFLOW_"), name
        assert svc[name]["depends_on"]["mlflow-init"] == {
            "condition": "service_completed_successfully"
        }, name
    # The admin password goes to the server and the one-shot that provisions, nowhere else.
    holders = {
        n for n, s in svc.items() if "MLFLOW_AUTH_ADMIN_PASSWORD" in s.get("environment", {})
    }
    assert holders == {"mlflow", "mlflow-init"}


def test_the_api_token_is_required_and_the_proxy_hashes_too() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    assert "${FX_API_TOKEN:-" not in text
    refs = re.findall(r"\$\{FX_API_TOKEN(:\?[^}]*)\}", text)
    assert len(refs) == 2 and all("32+" in r for r in refs), refs
    for var in ("FX_PROXY_OPERATOR_HASH", "FX_PROXY_VIEWER_HASH"):
        assert re.search(rf"\$\{{{var}:\?", text), var


def test_viewers_get_a_read_only_webserver() -> None:
    svc = services()
    readonly = svc["dagster-webserver-readonly"]
    assert "--read-only" in readonly["command"]
    assert "--read-only" not in svc["dagster-webserver"]["command"]
    assert all(v.endswith(":ro") for v in readonly["volumes"])


def test_third_party_images_are_pinned() -> None:
    for name, spec in services().items():
        if spec.get("build"):
            continue
        image = spec["image"]
        digest = re.search(r"@sha256:[0-9a-f]{64}$", image)
        release = re.search(r":RELEASE\.\d{4}-\d\d-\d\dT", image)  # MinIO's dated releases
        assert digest or release, f"{name}: {image} is pinned by a moving tag only"
