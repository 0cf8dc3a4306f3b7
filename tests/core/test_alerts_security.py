"""The notifier fails closed: no SMTP login in clear, and every configured secret scrubbed.

A real aiosmtpd server that does not offer STARTTLS (as a stripped offer looks) and
would accept a plaintext login: the notifier attempts none and the delivery fails in
one line. Alerts built from the settings scrub the same secrets ``fx run`` does.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from pytest_httpserver import HTTPServer

from fx_assets.core.alerts import Alert, AlertConfig, Notifier, newest_alerts
from fx_assets.core.settings import load_settings

PASSWORD = "smtp-password-never-in-clear"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Recorder:
    def __init__(self) -> None:
        self.logins: list[Any] = []
        self.messages: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content.decode())
        return "250 OK"

    def authenticator(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any):  # type: ignore[no-untyped-def]
        self.logins.append((mechanism, data))
        return AuthResult(success=True)


@pytest.fixture
def plain_smtp() -> Iterator[tuple[Recorder, int]]:
    """No TLS at all, and a login accepted in clear: what a downgrade would offer."""
    recorder = Recorder()
    port = _free_port()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=port,
        authenticator=recorder.authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def test_no_login_is_attempted_without_starttls(
    plain_smtp: tuple[Recorder, int], tmp_path: Path
) -> None:
    recorder, port = plain_smtp
    config = AlertConfig(
        email_to="oncall@example.org",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_user="fx",
        smtp_password=PASSWORD,
    )
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    alert = Alert("run_failed:etl_job", "etl_job failed", "details")
    assert Notifier(config, engine).send(alert) == {"email": "failed"}
    assert recorder.logins == [] and recorder.messages == []
    (row,) = newest_alerts(engine)
    assert row["last_error"] == (
        f"DeliveryError: SMTP server 127.0.0.1:{port} does not offer STARTTLS: the password"
        " is not sent in clear; use a relay with STARTTLS or port 465"
    )
    # Without a user nothing secret is sent: the same server delivers.
    anonymous = AlertConfig(email_to="oncall@example.org", smtp_host="127.0.0.1", smtp_port=port)
    assert Notifier(anonymous).send(alert) == {"email": "sent"}
    assert recorder.logins == [] and len(recorder.messages) == 1
    engine.dispose()


def test_alerts_scrub_every_secret_of_the_settings(
    fx_home: Path, monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer
) -> None:
    secrets = {
        "TWELVEDATA_API_KEY": "twelvedata-key-123456",
        "FX_API_TOKEN": "api-token-abcdefghijklmnopqrstuvwxyz",
        "FX_METRICS_TOKEN": "metrics-token-987654",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FX_ALERT_WEBHOOK_URL", httpserver.url_for("/hook"))
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    leaky = " ".join(f"{name}={value}" for name, value in secrets.items())
    notifier = Notifier(AlertConfig.from_settings(load_settings()))
    assert notifier.send(Alert("run_failed:x", "x failed", leaky)) == {"webhook": "sent"}
    (request, _), *_ = httpserver.log
    text = json.loads(request.get_data())["text"]
    assert text.endswith("TWELVEDATA_API_KEY=*** FX_API_TOKEN=*** FX_METRICS_TOKEN=***")
