"""docker-compose.yml as data, for the tests that check it and the ones that compare
other deployment files (the Procfile, the Kubernetes manifests) with it."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml

from tests.support import ROOT


@cache
def compose() -> dict[str, Any]:
    # PyYAML resolves the anchors and merge keys as Compose does.
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]
