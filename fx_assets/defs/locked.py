"""Resource settings that run config may not change at launch.

A ``ConfigurableResource``'s values become the defaults of its run config, so anyone who
can launch a run (the UI's launchpad, GraphQL) could otherwise point a field that
receives a credential somewhere else: the Twelve Data URL (the key travels as a header),
the model service URL (the API token), the alert webhook and SMTP host (the password),
the tracking URI (MLflow's credentials, and a registry of their choosing), the
warehouse URL, or the source (any file). Those fields are listed in each resource's
``LOCKED``; a run whose config sets any of them is refused in one line when the
resource is set up, before it opens a connection. The values come from the deployment's
environment only (``fx_assets.core.settings``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from dagster import ConfigurableResource, Failure, InitResourceContext

from fx_assets.core.settings import Settings, env_name


def _launch_config(context: InitResourceContext) -> dict[str, Any]:
    """What the run's own config sets for this resource (empty outside a launched run)."""
    run = context.dagster_run
    if run is None:
        return {}
    key = next((k for k, d in context.all_resource_defs.items() if d is context.resource_def), None)
    entry = (run.run_config or {}).get("resources", {}).get(key) or {}
    return dict(entry.get("config") or {}) if isinstance(entry, dict) else {}


def refuse_run_config(context: InitResourceContext, locked: dict[str, str]) -> None:
    """Fail the run, in one line, when its config sets one of ``locked`` (field: setting)."""
    given = _launch_config(context)
    for field, setting in locked.items():
        if field in given:
            name = env_name(setting) if setting in Settings.model_fields else setting
            raise Failure(
                description=(
                    f"run refused: run config may not set {field!r} of this resource;"
                    f" it receives a credential, so it comes only from {name} in the"
                    " deployment's environment"
                ),
                allow_retries=False,
            )


class LockedResource(ConfigurableResource):
    """A resource whose ``LOCKED`` fields refuse a value from run config."""

    # field: the setting it comes from
    LOCKED: ClassVar[dict[str, str]] = {}

    def setup_for_execution(self, context: InitResourceContext) -> None:
        refuse_run_config(context, self.LOCKED)
