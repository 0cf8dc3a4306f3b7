"""A firing Prometheus rule reaches the platform's webhook through Alertmanager, once.

Debian's real ``prometheus`` and ``prometheus-alertmanager`` run on free loopback ports
with the repository's rules and Alertmanager config (its timings shortened so the test
takes seconds, not minutes); the scrape target is a local HTTP server whose /metrics says
the drift check fails, and the webhook receiver is another (pytest-httpserver).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from pytest_httpserver import HTTPServer

from tests.support import ROOT
from tests.support.champions import free_port

PROMETHEUS = ROOT / "deploy" / "prometheus"
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
HOOK = "/services/T0/B0/alertmanager-hook"
FIRING = (
    "# TYPE fx_monitoring_check_failed gauge\n"
    'fx_monitoring_check_failed{check="feature_drift"} 1.0\n'
    'fx_monitoring_check_failed{check="performance_decay"} 0.0\n'
)


def _tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is missing: .ci/run installs Debian's prometheus packages")
        pytest.skip(f"{name} not installed (apt-get install prometheus prometheus-alertmanager)")
    return exe


def test_amtool_accepts_the_alertmanager_config() -> None:
    checked = subprocess.run(
        [_tool("amtool"), "check-config", str(ALERTMANAGER)], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = yaml.safe_load(ALERTMANAGER.read_text())
    route = config["route"]
    assert route["group_by"] == ["alertname"] and route["repeat_interval"] == "12h"
    (receiver,) = config["receivers"]
    assert receiver["slack_configs"][0]["api_url_file"] == "/alertmanager/webhook-url"
    # Kubernetes routes the same way; only where the URL's file is mounted differs.
    helm = yaml.safe_load((ROOT / "deploy" / "helm" / "alertmanager-values.yaml").read_text())
    assert helm["config"]["route"] == route
    slack = helm["config"]["receivers"][0]["slack_configs"][0]
    assert slack | {"api_url_file": "/alertmanager/webhook-url"} == receiver["slack_configs"][0]


@contextlib.contextmanager
def _process(args: list[str], log: Path) -> Iterator[None]:
    with log.open("w") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def _wait_ready(url: str, log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} not ready: {log.read_text()[-2000:]}")


def test_a_firing_rule_reaches_the_webhook_once(httpserver: HTTPServer, tmp_path: Path) -> None:
    prometheus, alertmanager = _tool("prometheus"), _tool("prometheus-alertmanager")
    httpserver.expect_request(HOOK, method="POST").respond_with_data("ok")
    target = HTTPServer(host="127.0.0.1", port=free_port())
    target.expect_request("/metrics").respond_with_data(FIRING, content_type="text/plain")
    target.start()
    am_port, prom_port = free_port(), free_port()

    # Alertmanager: the repository's config, the webhook URL in its file, timings short.
    url_file = tmp_path / "webhook-url"
    url_file.write_text(httpserver.url_for(HOOK))
    config = yaml.safe_load(ALERTMANAGER.read_text())
    config["route"].update(group_wait="1s", group_interval="1m")
    config["receivers"][0]["slack_configs"][0]["api_url_file"] = str(url_file)
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config))
    # Prometheus: the repository's rules and alerting section, pointed at these ports.
    prom = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    prom["global"].update(scrape_interval="1s", evaluation_interval="1s")
    prom["rule_files"] = [str(PROMETHEUS / "alerts.yml")]
    prom["scrape_configs"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{target.port}"]}]
    prom["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [f"127.0.0.1:{am_port}"]}]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(prom))
    checked = subprocess.run(
        [_tool("promtool"), "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr

    am_log, prom_log = tmp_path / "alertmanager.log", tmp_path / "prometheus.log"
    try:
        with (
            _process(
                [
                    alertmanager,
                    f"--config.file={tmp_path / 'alertmanager.yml'}",
                    f"--storage.path={tmp_path / 'am-data'}",
                    f"--web.listen-address=127.0.0.1:{am_port}",
                    "--cluster.listen-address=",
                ],
                am_log,
            ),
            _process(
                [
                    prometheus,
                    f"--config.file={tmp_path / 'prometheus.yml'}",
                    f"--storage.tsdb.path={tmp_path / 'prom-data'}",
                    f"--web.listen-address=127.0.0.1:{prom_port}",
                ],
                prom_log,
            ),
        ):
            _wait_ready(f"http://127.0.0.1:{am_port}/-/ready", am_log)
            _wait_ready(f"http://127.0.0.1:{prom_port}/-/ready", prom_log)
            deadline = time.monotonic() + 60
            while not httpserver.log and time.monotonic() < deadline:
                time.sleep(0.5)
            assert httpserver.log, prom_log.read_text()[-1500:] + am_log.read_text()[-1500:]
            time.sleep(5)  # a second message would have come within the group's wait
    finally:
        target.stop()
    (request, _), *more = httpserver.log
    assert more == []  # exactly one message: the passing decay check sends nothing
    text = request.get_data(as_text=True)
    assert "FeatureDriftCheckFailing" in text
    assert "feature_drift fails on the champion's newest window" in text
    assert "PerformanceDecayCheckFailing" not in text
