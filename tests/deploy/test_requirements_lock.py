"""requirements.lock, the image's dependency set: every runtime requirement of
pyproject.toml (and of deploy/lock.in) pinned to a version that satisfies it, with
hashes, so drift between pyproject.toml and the lock fails here and not in a build.
Regenerate with deploy/lock.sh."""

from __future__ import annotations

import re
import tomllib
from functools import cache
from importlib import metadata

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.support import ROOT

# The image's interpreter and platform: the markers of the lock are evaluated for it.
IMAGE_ENV = default_environment() | {
    "python_version": "3.11",
    "python_full_version": "3.11.2",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}


@cache
def lock() -> dict[str, tuple[Version, list[str]]]:
    """name -> (version, hashes) of the entries that apply to the image."""
    text = (ROOT / "requirements.lock").read_text().replace("\\\n", " ")
    out: dict[str, tuple[Version, list[str]]] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        spec, hashes = line.split(" --hash=", 1)[0], re.findall(r"--hash=(\S+)", line)
        req = Requirement(spec)
        if req.marker is not None and not req.marker.evaluate(IMAGE_ENV):
            continue
        (pin,) = req.specifier  # one ==version per entry
        assert pin.operator == "==", line
        out[canonicalize_name(req.name)] = (Version(pin.version), hashes)
    return out


def runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["deploy"]]
    for line in (ROOT / "deploy" / "lock.in").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            lines.append(line.strip())
    return [Requirement(line) for line in lines]


def test_lock_parser_reads_pins_hashes_and_markers() -> None:
    entries = lock()
    assert "colorama" not in entries  # sys_platform == 'win32': not in the image
    version, hashes = entries["dagster"]
    assert version >= Version("1.11") and hashes and all(h.startswith("sha256:") for h in hashes)


@pytest.mark.parametrize("req", runtime_requirements(), ids=str)
def test_lock_pins_every_runtime_requirement_to_a_version_it_allows(req: Requirement) -> None:
    name = canonicalize_name(req.name)
    assert name in lock(), f"{req} is not in requirements.lock: run deploy/lock.sh"
    version, hashes = lock()[name]
    assert req.specifier.contains(version, prereleases=True), (
        f"requirements.lock has {name}=={version}, pyproject.toml wants {req}: run deploy/lock.sh"
    )
    assert hashes, f"{name} has no hash: pip in the Dockerfile installs with --require-hashes"
    # An extra's own requirements (psycopg[binary]: psycopg-binary), as the installed
    # distribution declares them.
    for extra in req.extras:
        for dep in map(Requirement, metadata.requires(req.name) or []):
            marker = dep.marker
            if marker is not None and marker.evaluate(IMAGE_ENV | {"extra": extra}):
                assert canonicalize_name(dep.name) in lock(), f"{req}: {dep} not locked"


def test_upcoming_packages_are_in_the_lock_before_they_land_in_pyproject() -> None:
    upcoming = {
        "optuna",
        "tenacity",
        "filelock",
        "prometheus-client",
        "prometheus-fastapi-instrumentator",
        "pydantic-settings",
        "dagster-mlflow",
    }
    assert upcoming <= set(lock())


def test_the_dockerfile_installs_the_lock_with_hashes_and_nothing_else() -> None:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    installs = [line for line in text.splitlines() if "pip install" in line]
    assert any("--require-hashes" in i and "-r requirements.lock" in i for i in installs)
    # The project itself goes in without resolving anything more.
    assert all("--require-hashes" in i or "--no-deps" in i for i in installs), installs
    assert "COPY requirements.lock" in text
