"""The one place secrets are taken out of text shown to a person.

URLs lose their passwords, known secret values are masked, and an exception becomes one
line fit for a log, a page, an alert or Dagster metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

_CREDENTIALS = re.compile(r"(://[^:/@\s]+):[^@\s]+@")
MASK = "***"


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ***."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        parts = urlsplit(url)
        if parts.scheme and parts.hostname:
            port = f":{parts.port}" if parts.port else ""
            return f"{parts.scheme}://{parts.hostname}{port}/{MASK}"
        return "<unparseable url>"


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without passwords in URLs and without any of ``secrets``."""
    text = _CREDENTIALS.sub(rf"\1:{MASK}@", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text


def one_line(exc: BaseException, secrets: Iterable[str | None] = (), limit: int = 200) -> str:
    """An exception's first line (a driver's own error where wrapped), redacted."""
    orig = getattr(exc, "orig", None) or exc
    text = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    return re.sub(r"\s+", " ", redact_text(text, secrets))[:limit]


def settings_secrets(settings: Any) -> list[str]:
    """Every secret a settings object holds: the value of each of its ``SecretStr`` fields
    that is set (the API key, the tokens, the webhook URL, the SMTP password...)."""
    from pydantic import SecretStr

    values = (getattr(settings, name) for name in type(settings).model_fields)
    return [v.get_secret_value() for v in values if isinstance(v, SecretStr)]
