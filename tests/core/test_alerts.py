"""The notifier against real local receivers: pytest-httpserver and an aiosmtpd server."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pytest_httpserver import HTTPServer

from fx_assets.core.alerts import (
    ALERTS,
    Alert,
    AlertConfig,
    Notifier,
    champion_changed,
    check_fired,
    model_refused,
    newest_alerts,
    run_failed,
    scrub,
)

SECRET = "s3cr3t-pa55word"
HOOK_PATH = "/services/T000/B000/hooktoken123"
DAY = date(2026, 12, 1)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _restore_ssl_cert_file() -> Iterator[None]:
    before = os.environ.get("SSL_CERT_FILE")
    yield
    if before is None:
        os.environ.pop("SSL_CERT_FILE", None)
    else:
        os.environ["SSL_CERT_FILE"] = before


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    eng = sa.create_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    yield eng
    eng.dispose()


def _leaky_alert(condition: str = "run_failed:training_job") -> Alert:
    # What a careless caller could pass: a database URL with its password, and the secret.
    return Alert(
        condition=condition,
        title="training_job failed",
        text=f"step train failed: cannot reach postgresql://fx:{SECRET}@db:5432/fx "
        f"(token {SECRET}); run id abc123",
        severity="error",
    )


def _hook_config(server: HTTPServer, **kw: Any) -> AlertConfig:
    return AlertConfig(webhook_url=server.url_for(HOOK_PATH), smtp_password=SECRET, **kw)


def _texts(server: HTTPServer) -> list[str]:
    return [json.loads(req.get_data())["text"] for req, _ in server.log]


def test_webhook_delivery_is_slack_json_without_secrets(
    httpserver: HTTPServer, engine: sa.Engine
) -> None:
    httpserver.expect_request(HOOK_PATH, method="POST").respond_with_data("ok")
    notifier = Notifier(_hook_config(httpserver), engine)
    assert notifier.send(_leaky_alert(), today=DAY) == {"webhook": "sent"}
    (text,) = _texts(httpserver)
    assert text.startswith("[failure] training_job failed")
    assert "abc123" in text
    assert SECRET not in text
    assert "hooktoken123" not in text
    assert "postgresql://fx:***@db:5432/fx" in text
    stored = newest_alerts(engine)
    assert len(stored) == 1 and stored[0]["delivered_at"] is not None
    assert SECRET not in json.dumps(stored, default=str)


def test_one_alert_per_condition_per_day(httpserver: HTTPServer, engine: sa.Engine) -> None:
    httpserver.expect_request(HOOK_PATH).respond_with_data("ok")
    first = Notifier(_hook_config(httpserver), engine)
    # A second notifier on the same table: the sensor and the hook are two processes.
    second = Notifier(_hook_config(httpserver), engine)
    assert first.send(_leaky_alert(), today=DAY) == {"webhook": "sent"}
    assert second.send(_leaky_alert(), today=DAY) == {"webhook": "duplicate"}
    assert first.send(_leaky_alert("check:feature_drift"), today=DAY) == {"webhook": "sent"}
    assert first.send(_leaky_alert(), today=date(2026, 12, 2)) == {"webhook": "sent"}
    assert len(httpserver.log) == 3


def test_each_pair_alerts_on_its_own_and_says_which(
    httpserver: HTTPServer, engine: sa.Engine
) -> None:
    httpserver.expect_request(HOOK_PATH).respond_with_data("ok")
    notifier = Notifier(_hook_config(httpserver), engine)
    for pair in ("EURUSD", "GBPUSD", "EURUSD"):
        notifier.send(run_failed("predictions_job", "r1", "step fx_predictions", "boom", pair), DAY)
        notifier.send(check_fired(pair, "feature_drift", "m", "3", "drifted: vol_5"), DAY)
    notifier.send(run_failed("etl_job", "r2", "the run", "boom"), DAY)  # a run of the book
    texts = [t.split("\n")[0] for t in _texts(httpserver)]
    # One of each per pair and day: the second EUR/USD round is a duplicate.
    assert texts == [
        "[failure] EURUSD: predictions_job failed",
        "[warning] EURUSD: feature_drift: champion m v3",
        "[failure] GBPUSD: predictions_job failed",
        "[warning] GBPUSD: feature_drift: champion m v3",
        "[failure] etl_job failed",
    ]
    assert "GBPUSD: step fx_predictions: boom" in _texts(httpserver)[2]
    assert champion_changed("promotion", "4", "3", "why", "USDJPY").title.startswith("USDJPY: ")
    assert champion_changed("promotion", "4", "3", "why", "USDJPY").condition != (
        champion_changed("promotion", "4", "3", "why", "GBPUSD").condition
    )
    assert model_refused("4", "why", "USDJPY").condition == "model_refused:USDJPY:4"
    assert model_refused("4", "why").condition == "model_refused:4"  # unchanged without a pair


def test_webhook_retries_a_failing_receiver(httpserver: HTTPServer, engine: sa.Engine) -> None:
    httpserver.expect_ordered_request(HOOK_PATH).respond_with_data("busy", status=503)
    httpserver.expect_ordered_request(HOOK_PATH).respond_with_data("ok")
    assert Notifier(_hook_config(httpserver), engine).send(_leaky_alert()) == {"webhook": "sent"}
    assert [resp.status_code for _, resp in httpserver.log] == [503, 200]


def test_a_receiver_that_is_down_never_raises_and_is_retried_later(
    engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}{HOOK_PATH}"
    config = AlertConfig(webhook_url=url, smtp_password=SECRET, timeout=1.0)
    assert Notifier(config, engine).send(_leaky_alert()) == {"webhook": "failed"}
    (row,) = newest_alerts(engine)
    assert row["delivered_at"] is None and row["attempts"] == 1
    assert "ConnectError" in row["last_error"]
    assert "hooktoken123" not in caplog.text and SECRET not in caplog.text

    server = HTTPServer(host="127.0.0.1", port=port)
    server.expect_request(HOOK_PATH).respond_with_data("ok")
    server.start()
    try:
        # The next send (any key) first delivers what was kept.
        Notifier(config, engine).send(_leaky_alert("check:performance_decay"))
        assert len(server.log) == 2
    finally:
        server.stop()
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).where(ALERTS.c.delivered_at.is_(None))).scalar()
            == 0
        )


def test_a_client_error_is_not_retried(httpserver: HTTPServer, engine: sa.Engine) -> None:
    httpserver.expect_request(HOOK_PATH).respond_with_data("no such hook", status=404)
    assert Notifier(_hook_config(httpserver), engine).send(_leaky_alert()) == {"webhook": "failed"}
    assert len(httpserver.log) == 1


def test_scrub_hides_url_passwords_and_given_secrets() -> None:
    text = scrub(f"see https://bob:{SECRET}@example.org/x and key=abcd1234", ["abcd1234"])
    assert SECRET not in text and "abcd1234" not in text
    assert "https://bob:***@example.org/x" in text


# --- e-mail ------------------------------------------------------------------------------


class Inbox:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            {
                "to": envelope.rcpt_tos,
                "data": envelope.content.decode(),
                "tls": session.ssl is not None,
                "login": getattr(session, "auth_data", None),
            }
        )
        return "250 OK"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and data.password == SECRET.encode()
    return AuthResult(success=ok, handled=False, auth_data=data.login.decode() if ok else None)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def smtp_server(certificate: tuple[Path, Path]) -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server offering STARTTLS and requiring a login."""
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    port = _free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticator,
    )
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _mail_config(port: int, ca: Path, **kw: Any) -> AlertConfig:
    # The relay's self-signed certificate, trusted the way an operator would: SSL_CERT_FILE.
    os.environ["SSL_CERT_FILE"] = str(ca)
    return AlertConfig(
        email_to="oncall@example.org",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_user="fx",
        smtp_password=SECRET,
        **kw,
    )


def test_email_delivery_over_starttls_with_login(
    smtp_server: tuple[Inbox, int], certificate: tuple[Path, Path], engine: sa.Engine
) -> None:
    inbox, port = smtp_server
    notifier = Notifier(_mail_config(port, certificate[0]), engine)
    assert notifier.send(_leaky_alert(), today=DAY) == {"email": "sent"}
    assert notifier.send(_leaky_alert(), today=DAY) == {"email": "duplicate"}
    (message,) = inbox.messages
    assert message["to"] == ["oncall@example.org"]
    assert message["tls"] and message["login"] == "fx"
    assert "Subject: training_job failed" in message["data"]
    assert "abc123" in message["data"]
    assert SECRET not in message["data"]


def test_email_with_a_wrong_password_fails_without_raising(
    smtp_server: tuple[Inbox, int], certificate: tuple[Path, Path], engine: sa.Engine
) -> None:
    inbox, port = smtp_server
    config = _mail_config(port, certificate[0])
    wrong = AlertConfig(**{**config.__dict__, "smtp_password": "not-it"})
    assert Notifier(wrong, engine).send(_leaky_alert()) == {"email": "failed"}
    assert inbox.messages == []
    (row,) = newest_alerts(engine)
    assert "not-it" not in (row["last_error"] or "")


def test_email_receiver_down_and_alert_test(
    certificate: tuple[Path, Path], engine: sa.Engine
) -> None:
    config = _mail_config(_free_port(), certificate[0], timeout=1.0)
    assert Notifier(config, engine).send(_leaky_alert()) == {"email": "failed"}
    assert Notifier(config).test()["email"].startswith("ConnectionRefusedError")


def test_both_channels_and_the_test_message(
    smtp_server: tuple[Inbox, int],
    certificate: tuple[Path, Path],
    httpserver: HTTPServer,
    engine: sa.Engine,
) -> None:
    inbox, port = smtp_server
    httpserver.expect_request(HOOK_PATH).respond_with_data("ok")
    config = AlertConfig(**{**_mail_config(port, certificate[0]).__dict__,
                            "webhook_url": httpserver.url_for(HOOK_PATH)})  # fmt: skip
    assert Notifier(config).test() == {"webhook": "sent", "email": "sent"}
    assert "alerts reach you" in _texts(httpserver)[0]
    assert "alerts reach you" in inbox.messages[0]["data"]
    assert Notifier(AlertConfig()).send(_leaky_alert()) == {}  # no channel: nothing to do


def test_one_alert_configuration_for_the_cli_and_the_code_location(
    fx_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster import EnvVar

    from fx_assets.core.settings import load_settings
    from fx_assets.defs.resources import AlertsResource

    monkeypatch.setenv("FX_ALERT_EMAIL_TO", "oncall@example.org")
    monkeypatch.setenv("FX_SMTP_HOST", "smtp.example.org")
    monkeypatch.setenv("FX_SMTP_PORT", "2525")
    settings = load_settings()
    config = AlertConfig.from_settings(settings)
    assert config.channels() == ["email"] and config.smtp_port == 2525
    # The resource holds the same fields and hands the same object to the notifier.
    assert AlertsResource.from_settings(settings).config() == config

    monkeypatch.setenv("FX_SMTP_PASSWORD", SECRET)
    monkeypatch.setenv("FX_ALERT_WEBHOOK_URL", "https://hooks.example.org/T0/B0/tok")
    resource = AlertsResource.from_settings(load_settings())
    # Secrets reach Dagster as their variables: the UI shows the name, never the value.
    assert resource.smtp_password == EnvVar("FX_SMTP_PASSWORD")
    assert resource.webhook_url == EnvVar("FX_ALERT_WEBHOOK_URL")
    assert AlertConfig.from_settings(load_settings()).smtp_password == SECRET
