"""Two lines the code holds: Dagster only through its public API, and the platform's
environment variables only through the settings class."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from tests.support import ROOT
from tests.support.env_scan import env_reads

PACKAGES = ("fx_assets", "fx_serving", "fx_dash")
# The one module allowed Dagster's private modules (each import says why).
DAGSTER_ADAPTER = "fx_assets/dagster_adapter.py"
SETTINGS = "fx_assets/core/settings.py"
# Reads of these outside the settings class are defects; writes (``setdefault``, assignment)
# configure a library or a child process and are allowed.
OURS = ("FX_", "MLFLOW_", "DAGSTER_")


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))


def _imported(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def test_dagster_private_modules_are_imported_by_the_adapter_alone() -> None:
    private = {
        name: module
        for name, tree in _modules()
        for module in _imported(tree)
        if module.startswith("dagster._") or module.startswith("dagster_mlflow._")
    }
    assert set(private) <= {DAGSTER_ADAPTER}, private


def test_our_variables_are_read_only_by_the_settings_class() -> None:
    readers = {
        module: sorted(set(reads))
        for module, tree in _modules()
        if module != SETTINGS and (reads := [v for v in env_reads(tree) if v.startswith(OURS)])
    }
    assert not readers, readers
