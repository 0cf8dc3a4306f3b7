"""Who may call the service: the token policy, checked before the service starts.

Fail closed: without ``FX_API_TOKEN`` the service does not start, unless anonymous access
is asked for explicitly (``FX_API_ANONYMOUS=true``, logged as a warning at every start);
a token shorter than ``MIN_TOKEN_CHARS`` is refused (a guessable token is no lock).

What stays open, by one policy: ``/health``, ``/metrics``, ``/docs`` and
``/openapi.json`` answer without the API token, because none of them holds a forecast,
a feature value, the champion's estimator or a secret: liveness, counts and latencies
by route template and champion version, and the API's public contract. Everything that
scores or returns data needs the token. ``FX_METRICS_TOKEN`` closes ``/metrics`` too,
with a credential of the scraper's own.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fx_assets.core.settings import ConfigError, Settings, load_settings

log = logging.getLogger("fx_serving")

# 32 characters of `secrets.token_urlsafe` are 192 bits.
MIN_TOKEN_CHARS = 32
_HOW = "python -c 'import secrets; print(secrets.token_urlsafe(32))' makes one"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def api_token(settings: Settings) -> str | None:
    """The token every data route requires; None only when anonymous access is asked for."""
    token = Settings.secret(settings.api_token)
    if token is None:
        if settings.api_anonymous:
            return None
        raise ConfigError(
            "FX_API_TOKEN is not set: the model service requires a bearer token of at least"
            f" {MIN_TOKEN_CHARS} characters ({_HOW}), or FX_API_ANONYMOUS=true to serve"
            " everyone without one"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(
            f"FX_API_TOKEN is too short ({len(token)} characters): use at least"
            f" {MIN_TOKEN_CHARS} ({_HOW})"
        )
    return token


def warn_if_anonymous(token: str | None) -> None:
    if token is None:
        log.warning(
            "FX_API_ANONYMOUS=true: the model service answers EVERY caller without a token;"
            " set FX_API_TOKEN unless only trusted callers can reach this port"
        )


class FailClosed:
    """Refuses the start (one line, no traceback) when the token policy is not met.

    As ASGI middleware rather than inside the lifespan: an error raised there reaches the
    log as a traceback, this reaches it as the policy's one line and uvicorn exits.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            try:
                api_token(load_settings())
            except ConfigError as exc:
                await receive()  # lifespan.startup
                await send({"type": "lifespan.startup.failed", "message": str(exc)})
                return
        await self.app(scope, receive, send)
