"""Alerts to a person: a Slack-compatible webhook and e-mail, both optional.

Dagster-free: the run-failure sensor, the failure hook, the WARN checks, promotion and
rollback, and ``fx alert-test`` all send through ``Notifier.send``. Three promises:

- At most one alert per condition per day and channel. The ``fx_alerts`` table in the
  warehouse holds one row per (condition, day, channel), so the sensor and the hook that both
  see one failed run (in two processes) cannot both send it: the second insert meets
  the primary key.
- A receiver that is down never raises into the caller: the attempt is logged in one
  line, the row stays undelivered, and ``retry_pending`` (called before every send)
  delivers it later.
- No body carries a secret: every text goes through ``scrub``, which removes the
  configured secrets (the webhook URL is one: Slack's carries its token in the path)
  and hides the password of any URL, with the one redaction helper of the core.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import ClassVar, Literal

import httpx
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import Engine
from tenacity import (
    retry,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from fx_assets.core.contracts import ALERTS as ALERTS_CONTRACT
from fx_assets.core.redaction import redact_text
from fx_assets.core.settings import Settings, load_settings
from fx_assets.core.warehouse import Warehouse

log = logging.getLogger("fx_alerts")

Severity = Literal["info", "warning", "error"]
Channel = Literal["webhook", "email"]
Status = Literal["sent", "duplicate", "failed"]

# Short: an alert is sent from inside a run or a sensor tick, which must not hang on a
# receiver that does not answer. Three attempts ride out a restart of the receiver.
TIMEOUT_SECONDS = 5.0
ATTEMPTS = 3
MAX_TEXT = 3000  # Slack truncates a message's text near 4000 characters

ALERTS = ALERTS_CONTRACT.table


def scrub(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without any of ``secrets`` and with every URL's password hidden."""
    return redact_text(text, sorted((x for x in secrets if x), key=len, reverse=True))


@dataclass(frozen=True)
class Alert:
    """One message. ``condition`` names what fired (e.g. ``run_failed:training_job``), so
    the same condition on the same day is sent once."""

    condition: str
    title: str
    text: str
    severity: Severity = "warning"

    def body(self) -> str:
        mark = {"info": "[info]", "warning": "[warning]", "error": "[failure]"}[self.severity]
        return f"{mark} {self.title}\n{self.text}"[:MAX_TEXT]


@dataclass(frozen=True)
class AlertConfig:
    """The channels; a channel without its address is off.

    The one alert configuration: built from the settings (``from_settings``) by the
    command line, and by the code location through ``AlertsResource``, whose fields are
    these and come from the same settings (``SETTINGS``).
    """

    webhook_url: str | None = None
    email_to: str | None = None
    smtp_host: str | None = None
    smtp_port: int = Settings.model_fields["smtp_port"].default
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_from: str = Settings.model_fields["smtp_from"].default
    timeout: float = TIMEOUT_SECONDS
    attempts: int = ATTEMPTS
    # Every other secret of the settings: an alert quoting an error must not carry them.
    other_secrets: tuple[str, ...] = field(default=(), repr=False)

    # Each channel field and the setting it comes from (FX_ALERT_WEBHOOK_URL, FX_SMTP_HOST...).
    SETTINGS: ClassVar[dict[str, str]] = {
        "webhook_url": "alert_webhook_url",
        "email_to": "alert_email_to",
        "smtp_host": "smtp_host",
        "smtp_port": "smtp_port",
        "smtp_user": "smtp_user",
        "smtp_password": "smtp_password",
        "smtp_from": "smtp_from",
    }

    def channels(self) -> list[Channel]:
        out: list[Channel] = []
        if self.webhook_url:
            out.append("webhook")
        if self.email_to and self.smtp_host:
            out.append("email")
        return out

    def secrets(self) -> list[str | None]:
        return [self.webhook_url, self.smtp_password, *self.other_secrets]

    @classmethod
    def from_settings(cls, settings: Settings) -> AlertConfig:
        def plain(value: object) -> object:
            return Settings.secret(value) if isinstance(value, SecretStr) else value

        channels = {f: plain(getattr(settings, s)) for f, s in cls.SETTINGS.items()}
        return cls(**channels, other_secrets=tuple(settings.secret_values()))  # type: ignore[arg-type]


class DeliveryError(RuntimeError):
    """A receiver cannot be used safely (SMTP without TLS); the message is one line."""


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code >= 500 or exc.response.status_code == 429
    return isinstance(exc, httpx.TransportError | OSError | smtplib.SMTPServerDisconnected)


def _retrying(config: AlertConfig):  # type: ignore[no-untyped-def]
    return retry(
        stop=stop_after_attempt(config.attempts),
        wait=wait_exponential(multiplier=0.2, max=2.0),
        retry=retry_if_exception(_retryable),
        reraise=True,
    )


def post_webhook(config: AlertConfig, text: str) -> None:
    """POST ``{"text": ...}``: what Slack, Mattermost and Teams-style incoming webhooks take."""
    assert config.webhook_url

    @_retrying(config)
    def attempt() -> None:
        response = httpx.post(config.webhook_url, json={"text": text}, timeout=config.timeout)
        response.raise_for_status()

    attempt()


# The port of SMTP over implicit TLS (RFC 8314): the connection is TLS from the start.
IMPLICIT_TLS_PORT = 465


def _connect(config: AlertConfig) -> smtplib.SMTP:
    """A session, encrypted whenever a password will be sent.

    With a user set, TLS is required: implicit TLS on port 465, else STARTTLS, which the
    server must offer; a server (or a man in the middle) that strips the offer gets no
    login. Without a user, STARTTLS is used when offered (nothing secret is sent).
    """
    assert config.smtp_host
    # The system's authorities; SSL_CERT_FILE adds a private relay's.
    context = ssl.create_default_context()
    if config.smtp_port == IMPLICIT_TLS_PORT:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            config.smtp_host, config.smtp_port, timeout=config.timeout, context=context
        )
        smtp.ehlo()
        return smtp
    smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout)
    smtp.ehlo()
    if smtp.has_extn("starttls"):
        smtp.starttls(context=context)
        smtp.ehlo()
    elif config.smtp_user:
        smtp.close()
        raise DeliveryError(
            f"SMTP server {config.smtp_host}:{config.smtp_port} does not offer STARTTLS:"
            " the password is not sent in clear; use a relay with STARTTLS or port 465"
        )
    return smtp


def send_email(config: AlertConfig, subject: str, text: str) -> None:
    """One plain-text message; login (a user set) only over TLS."""
    assert config.smtp_host and config.email_to
    message = EmailMessage()
    message["From"] = config.smtp_from
    message["To"] = config.email_to
    message["Subject"] = subject
    message.set_content(text)

    @_retrying(config)
    def attempt() -> None:
        with _connect(config) as smtp:
            if config.smtp_user:
                smtp.login(config.smtp_user, config.smtp_password or "")
            smtp.send_message(message)

    attempt()


class Notifier:
    """Sends alerts to the configured channels, once per condition, day and channel."""

    def __init__(self, config: AlertConfig, engine: Engine | None = None) -> None:
        self.config = config
        self.engine = engine
        if engine is not None:
            ALERTS.create(engine, checkfirst=True)

    def _scrub(self, text: str) -> str:
        return scrub(text, self.config.secrets())

    def _deliver(self, channel: Channel, title: str, body: str) -> str | None:
        """None when delivered, else the one-line reason (scrubbed)."""
        try:
            if channel == "webhook":
                post_webhook(self.config, body)
            else:
                send_email(self.config, title, body)
        except Exception as exc:
            reason = self._scrub(f"{type(exc).__name__}: {exc}".splitlines()[0])[:300]
            log.warning("alert not delivered by %s (kept for a retry): %s", channel, reason)
            return reason
        return None

    def send(self, alert: Alert, today: date | None = None) -> dict[Channel, Status]:
        """Deliver ``alert`` on every channel not yet used for its condition today. Never raises."""
        try:
            self.retry_pending()
            return self._send(alert, today or datetime.now(UTC).date())
        except Exception as exc:  # the warehouse itself is down: say so, do not fail the caller
            log.warning("alert %s not sent: %s", alert.condition, self._scrub(type(exc).__name__))
            return dict.fromkeys(self.config.channels(), "failed")

    def _send(self, alert: Alert, today: date) -> dict[Channel, Status]:
        title = self._scrub(alert.title)
        body = self._scrub(alert.body())
        out: dict[Channel, Status] = {}
        for channel in self.config.channels():
            if not self._claim(alert, channel, today, title, body):
                out[channel] = "duplicate"
                continue
            reason = self._deliver(channel, title, body)
            self._record(alert.condition, today, channel, reason)
            out[channel] = "sent" if reason is None else "failed"
        return out

    def _claim(self, alert: Alert, channel: Channel, day: date, title: str, body: str) -> bool:
        """Insert the (condition, day, channel) row; False when another sender holds it already."""
        if self.engine is None:
            return True
        row = {
            "condition": alert.condition[:200],
            "day": day,
            "channel": channel,
            "severity": alert.severity,
            "title": title[:300],
            "text": body,
            "created_at": datetime.now(UTC),
            "attempts": 0,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(ALERTS), row)
        except sa.exc.IntegrityError:
            return False
        return True

    def _record(self, condition: str, day: date, channel: Channel, reason: str | None) -> None:
        if self.engine is None:
            return
        c = ALERTS.c
        where = (c.condition == condition[:200]) & (c.day == day) & (c.channel == channel)
        values: dict[str, object] = {"attempts": ALERTS.c.attempts + 1, "last_error": reason}
        if reason is None:
            values["delivered_at"] = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(sa.update(ALERTS).where(where).values(**values))

    def retry_pending(self) -> int:
        """Deliver the undelivered alerts of today and yesterday (older ones are stale) on
        the channels still configured; how many were delivered."""
        if self.engine is None:
            return 0
        since = datetime.now(UTC).date() - timedelta(days=1)
        query = sa.select(ALERTS.c.condition, ALERTS.c.day, ALERTS.c.channel, ALERTS.c.title)
        query = query.add_columns(ALERTS.c.text).where(
            ALERTS.c.delivered_at.is_(None), ALERTS.c.day >= since
        )
        with self.engine.connect() as conn:
            pending = conn.execute(query).all()
        delivered = 0
        for condition, day, channel, title, text in pending:
            if channel not in self.config.channels():
                continue
            reason = self._deliver(channel, title, text)
            self._record(condition, day, channel, reason)
            delivered += reason is None
        return delivered

    def test(self) -> dict[Channel, str]:
        """``fx alert-test``: a test message on every channel, past the once-a-day rule."""
        body = self._scrub(
            Alert("alert-test", "fx alert test", "If you read this, alerts reach you.").body()
        )
        return {
            channel: self._deliver(channel, "fx alert test", body) or "sent"
            for channel in self.config.channels()
        }


def announce(alert: Alert, settings: Settings | None = None) -> None:
    """Send ``alert`` to the channels the settings configure (none: nothing to do, and no
    table touched); never raises. What the command line uses; a run uses its resource."""
    settings = settings or load_settings()
    config = AlertConfig.from_settings(settings)
    if config.channels():
        Notifier(config, Warehouse.cached(settings.warehouse_url).engine).send(alert)


def newest_alerts(engine: Engine, limit: int = 20) -> list[dict[str, object]]:
    """The newest alert rows (the dashboard's list); empty when none was ever sent."""
    if not sa.inspect(engine).has_table(ALERTS.name):
        return []
    query = sa.select(ALERTS).order_by(ALERTS.c.created_at.desc()).limit(limit)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def _for(pair: str | None) -> tuple[str, str]:
    """The pair's part of a condition key (``:GBPUSD``) and of a title (``GBPUSD: ``): one
    pair's alert never suppresses another's, and a reader of the book sees which pair."""
    return (f":{pair}", f"{pair}: ") if pair else ("", "")


def run_failed(job: str, run_id: str, where: str, reason: str, pair: str | None = None) -> Alert:
    """A failed run, once per job (and pair, for a pair's run) per day: the run-failure
    sensor and ``fx run`` build the same condition, so one failure seen by both is sent once."""
    key, named = _for(pair)
    return Alert(
        condition=f"run_failed:{job}{key}",
        title=f"{named}{job} failed",
        text=f"{named}{where}: {reason}\nrun id {run_id}",
        severity="error",
    )


def champion_changed(
    kind: str, version: str, previous: str | None, reason: str, pair: str | None = None
) -> Alert:
    """A promotion or rollback (information: the champion the service answers with moved)."""
    key, named = _for(pair)
    was = f" (was v{previous})" if previous else ""
    return Alert(
        condition=f"{kind}{key}:{version}",
        title=f"{named}{kind}: champion is now v{version}{was}",
        text=reason,
        severity="info",
    )


def model_refused(version: str, reason: str, pair: str | None = None) -> Alert:
    """A registered version the safe loader refused: the registry or the artifact store
    holds something training did not write, so a person must look (the old one serves)."""
    key, named = _for(pair)
    return Alert(
        condition=f"model_refused{key}:{version}",
        title=f"{named}model version {version} refused; the previous champion keeps serving",
        text=reason,
        severity="error",
    )


def check_fired(
    pair: str, check: str, model_name: str, version: str, text: str, severity: Severity = "warning"
) -> Alert:
    """A monitoring check that fired for ``pair``'s champion, once per pair and check a day."""
    key, named = _for(pair)
    return Alert(
        condition=f"check{key}:{check}",
        title=f"{named}{check}: champion {model_name} v{version}",
        text=text,
        severity=severity,
    )
