"""The notifier as the code location builds it: from the alerts resource, on the warehouse."""

from __future__ import annotations

from collections.abc import Callable

from dagster._utils.error import SerializableErrorInfo

from fx_assets.core.alerts import Alert, AlertConfig, Channel, Notifier, Status
from fx_assets.defs.resources import AlertsResource, WarehouseResource

Send = Callable[[Alert], dict[Channel, Status]]


def alert_config(alerts: AlertsResource) -> AlertConfig:
    return AlertConfig(
        webhook_url=alerts.webhook_url,
        email_to=alerts.email_to,
        smtp_host=alerts.smtp_host,
        smtp_port=alerts.smtp_port,
        smtp_user=alerts.smtp_user,
        smtp_password=alerts.smtp_password,
        email_from=alerts.smtp_from,
    )


def notifier(alerts: AlertsResource, warehouse: WarehouseResource) -> Send:
    """``send(alert)``; nothing to do (and no table touched) when no channel is configured."""
    config = alert_config(alerts)
    if not config.channels():
        return lambda _alert: {}
    return Notifier(config, warehouse.get().engine).send


def error_line(error: SerializableErrorInfo | None) -> str:
    """The innermost user-facing message of a step error, in one line (as ``fx run`` says)."""
    if error is None:
        return "no error recorded"
    cause = error
    while cause.cause is not None and "Failure" not in cause.cls_name:
        cause = cause.cause
    message = ((cause.message or error.message).strip().splitlines() or [cause.cls_name])[0]
    return message.split("Failure: ", 1)[-1]
