"""Alerting as the code location does it: the notifier on the warehouse, and why (and for
which pair) a run failed, said the same way by the run-failure sensor and by ``fx run``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from dagster import AssetCheckSeverity, DagsterEvent, DagsterEventType

from fx_assets.core.alerts import Alert, Channel, Notifier, Status
from fx_assets.core.redaction import redact_text
from fx_assets.core.settings import load_settings
from fx_assets.dagster_adapter import PARTITION_TAG
from fx_assets.defs.resources import AlertsResource, WarehouseResource

Send = Callable[[Alert], dict[Channel, Status]]

# Offending dates and reasons can be long: enough for a person to act, not a screenful.
REASON_CHARS = 600
# The events a failure's reason is read from (a run's log holds many more).
FAILURE_EVENTS = {
    DagsterEventType.STEP_FAILURE,
    DagsterEventType.ASSET_CHECK_EVALUATION,
    DagsterEventType.RUN_FAILURE,
}


def notifier(alerts: AlertsResource, warehouse: WarehouseResource) -> Send:
    """``send(alert)``; nothing to do (and no table touched) when no channel is configured."""
    config = alerts.config()
    if not config.channels():
        return lambda _alert: {}
    return Notifier(config, warehouse.get().engine).send


def _step_error(event: DagsterEvent) -> str:
    """A failed step's user-facing message: a ``dagster.Failure``'s description as it is
    (Dagster records it as the step's user failure data), else the innermost exception
    with its class, e.g. ``ValueError: feed answered 503``."""
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return data.user_failure_data.description
    if data.error is None:
        return "no error recorded"
    cause = data.error
    while cause.cause is not None:
        cause = cause.cause
    lines = (cause.message or data.error.message).strip().splitlines() or [""]
    # The message starts with the class ("ValueError: ..."): said once, by its short name.
    return f"{cause.cls_name}: {lines[0].split(': ', 1)[-1]}"


def _where_and_why(events: list[DagsterEvent]) -> tuple[str, str]:
    # In order: a failed blocking check is recorded just before the step failure it
    # causes, and says more (its own description) than that failure does.
    for event in events:
        if event.is_step_failure:
            return f"step {event.step_key}", _step_error(event)
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            check = event.asset_check_evaluation_data
            if not check.passed and check.blocking and check.severity == AssetCheckSeverity.ERROR:
                return f"check {check.check_name}", check.description or "failed"
    for event in events:
        if event.is_run_failure and event.message:
            return "the run", event.message
    return "the run", "see the run in the Dagster UI"


def failure_reason(events: Iterable[DagsterEvent]) -> tuple[str, str]:
    """(what failed, why) of a failed run: its first failed step or blocking check, else
    the run's own message; the why in one line, bounded, with no configured secret in it."""
    where, why = _where_and_why(list(events))
    why = redact_text(" ".join(why.split()), load_settings().secret_values())
    if len(why) > REASON_CHARS:
        why = why[: REASON_CHARS - 3] + "..."
    return where, why


def run_pair(tags: Mapping[str, str], pairs: Iterable[str]) -> str | None:
    """The one pair a run was of (its partition, or the pair of one ``fx_raw`` partition
    ``EURUSD|2026``), else None: a run of the book (a range of pairs) names no pair."""
    key = tags.get(PARTITION_TAG, "").split("|")[0]
    return key if key in set(pairs) else None
