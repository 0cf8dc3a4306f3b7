"""Helpers of the container test: buildah with its storage in a cache outside the
repository, a Debian base image made with mmdebstrap, the project's image built from the
real Dockerfile, and docker-compose.yml's services run inside that image on the host's
network (`buildah run --isolation chroot`), translated to this machine's ports and
databases."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support import ROOT
from tests.support.fullstack import Tracked, descendants

# Between runs: buildah's image store (the base image and the Dockerfile's layers, so
# an unchanged requirements.lock reuses the dependency layer) lives here, not in the repo.
CACHE = Path(os.environ.get("FX_CONTAINER_CACHE", "/var/cache/fx-container"))
IMAGE = "localhost/fx-platform:test"
TOOLS = {"buildah": "buildah", "mmdebstrap": "mmdebstrap", "docker-compose": "docker-compose"}

# The stand-in for python:3.11-slim-bookworm, which cannot be pulled here: Debian
# bookworm's own Python 3.11 (`python` and `venv` included, as in the official image).
BASE_SUITE = "bookworm"
BASE_MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")


def require_tools() -> None:
    """Skip without buildah, mmdebstrap or docker-compose; under CI=true, fail instead."""
    missing = [pkg for exe, pkg in TOOLS.items() if shutil.which(exe) is None]
    if missing:
        message = f"missing {', '.join(missing)}: apt-get install {' '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (.ci/run installs them)")
        pytest.skip(message)
    if os.geteuid() != 0:
        message = "buildah --isolation chroot builds and runs as root here"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


# What `buildah run` itself writes into a container's root, not the service: its marker
# file (hosts and resolv.conf are bind-mounted and leave nothing in the layer).
RUNTIME_FILES = frozenset({"/run/.containerenv"})


@dataclass
class Buildah:
    """buildah on its own image store under ``CACHE``."""

    root: Path = CACHE / "storage"
    runroot: Path = Path("/run/fx-container")

    def cmd(self, *args: str) -> list[str]:
        driver = os.environ.get("FX_CONTAINER_STORAGE_DRIVER", "overlay")
        return [
            "buildah",
            f"--root={self.root}",
            f"--runroot={self.runroot}",
            f"--storage-driver={driver}",
            *args,
        ]

    def run(self, *args: str, timeout: float = 300, log: Path | None = None) -> str:
        out = subprocess.run(
            self.cmd(*args), capture_output=True, text=True, timeout=timeout, env=host_env()
        )
        if log is not None:
            with log.open("a") as f:
                f.write(f"$ buildah {' '.join(args)}\n{out.stdout}{out.stderr}\n")
        if out.returncode != 0:
            what = f"buildah {' '.join(args)}: {out.returncode}"
            raise AssertionError(f"{what}\n{out.stderr[-4000:]}")
        return out.stdout

    def has_image(self, name: str) -> bool:
        cmd = self.cmd("inspect", "--type=image", name)
        return subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0

    def inspect(self, name: str) -> dict[str, Any]:
        return json.loads(self.run("inspect", "--type=image", name))


def host_env() -> dict[str, str]:
    """What buildah itself runs with: no variable of the test's leaks into a container."""
    return {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "HOME": "/root"}


# --- the base image --------------------------------------------------------------------
def base_image(b: Buildah, work: Path, log: Path) -> tuple[str, float]:
    """The mmdebstrap base, tagged by its recipe's hash and made only when missing.
    Returns the tag and the seconds spent making it (0 when it was cached)."""
    recipe = json.dumps([BASE_SUITE, BASE_MIRRORS, BASE_PACKAGES, "minbase"])
    tag = f"localhost/fx-base:{BASE_SUITE}-{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"
    if b.has_image(tag):
        return tag, 0.0
    began = time.monotonic()
    tarball = work / "base.tar"
    cmd = [
        "mmdebstrap",
        "--variant=minbase",
        f"--include={','.join(BASE_PACKAGES)}",
        '--aptopt=Acquire::Languages "none"',
        "--dpkgopt=path-exclude=/usr/share/doc/*",
        "--dpkgopt=path-exclude=/usr/share/man/*",
        "--dpkgopt=path-exclude=/usr/share/locale/*",
        BASE_SUITE,
        str(tarball),
        *BASE_MIRRORS,
    ]
    with log.open("a") as f:
        done = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=900)
    assert done.returncode == 0, f"mmdebstrap failed, see {log}"
    ctr = b.run("from", "scratch", log=log).strip()
    try:
        b.run("add", ctr, str(tarball), "/", log=log, timeout=600)
        b.run(
            "config",
            "--env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "--env=LANG=C.UTF-8",
            "--cmd=python3",
            ctr,
            log=log,
        )
        b.run("commit", "--quiet", ctr, tag, log=log, timeout=600)
    finally:
        b.run("rm", ctr, log=log)
        tarball.unlink(missing_ok=True)
    return tag, time.monotonic() - began


# --- the build -------------------------------------------------------------------------
class _Folders(http.server.SimpleHTTPRequestHandler):
    """Serves local folders read-only: /<i>/path is ``folders[i]``/path."""

    folders: tuple[Path, ...] = ()

    def translate_path(self, path: str) -> str:
        head, _, rest = path.split("?", 1)[0].lstrip("/").partition("/")
        if not head.isdigit() or int(head) >= len(self.folders):
            return "/nonexistent"
        self.directory = str(self.folders[int(head)])  # what the base class resolves in
        return super().translate_path("/" + rest)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def pip_build_options(work: Path) -> Iterator[list[str]]:
    """buildah options that let pip in the Dockerfile reach this machine's package
    sources, passed the way the Dockerfile documents for any mirror: the host's pip
    configuration as the build secret `pip.conf`, its CA bundle as the secret `pip-ca`
    (both mounted for the install step only). Local folders it names (find-links, file://
    indexes) are served read-only over HTTP on 127.0.0.1 for the build, so that nothing,
    not even an empty mount point, is left in the image."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    ).stdout
    conf: dict[str, str] = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        section, _, name = key.partition(".")
        if section in ("global", "install") and name:
            conf[name] = value.strip().strip("'\"")
    for name in ("index-url", "extra-index-url", "find-links", "cert", "trusted-host"):
        env = os.environ.get("PIP_" + name.upper().replace("-", "_"))
        if env:
            conf[name] = " ".join(dict.fromkeys([*conf.get(name, "").split(), *env.split()]))
    conf.pop("constraint", None)  # a host-only cap on packages the image does not use
    folders: list[Path] = []

    def served(loc: str) -> str:
        path = Path(loc.removeprefix("file://"))
        if not loc.startswith(("/", "file://")) or not path.exists():
            return loc
        # A local index's pages link to files beside it (../../files/...): serve its parent.
        root = path.parent if path.name == "simple" else path
        folders.append(root)
        rel = "simple/" if root != path else ""
        return f"http://127.0.0.1:{{port}}/{len(folders) - 1}/{rel}"

    for name in ("index-url", "extra-index-url", "find-links"):
        if name in conf:
            conf[name] = " ".join(served(loc) for loc in conf[name].split())
    handler = type("Folders", (_Folders,), {"folders": tuple(folders)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        for name in ("index-url", "extra-index-url", "find-links"):
            if name in conf:
                conf[name] = conf[name].replace("{port}", str(port))
        if folders:
            conf["trusted-host"] = " ".join([*conf.get("trusted-host", "").split(), "127.0.0.1"])
        options = ["--network=host"]
        if "cert" in conf:
            options.append(f"--secret=id=pip-ca,src={conf['cert']}")
            conf["cert"] = "/run/secrets/pip-ca.pem"
        pip_conf = work / "pip.conf"
        pip_conf.write_text("[global]\n" + "".join(f"{k} = {v}\n" for k, v in conf.items()))
        yield [f"--secret=id=pip.conf,src={pip_conf}", *options]
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Build:
    seconds: float
    dependency_layer_cached: bool
    log: Path


def build_image(b: Buildah, base: str, work: Path, log: Path) -> Build:
    """The repository's Dockerfile, as users build it, on ``base``."""
    began = time.monotonic()
    with pip_build_options(work) as pip_options, log.open("a") as f:
        cmd = b.cmd(
            "bud",
            "--isolation=chroot",
            "--layers",
            "--format=docker",  # keeps HEALTHCHECK, which the OCI format has no field for
            f"--build-arg=BASE_IMAGE={base}",
            *pip_options,
            f"--tag={IMAGE}",
            f"--file={ROOT / 'Dockerfile'}",
            str(ROOT),
        )
        done = subprocess.run(
            cmd, stdout=f, stderr=subprocess.STDOUT, timeout=2400, env=host_env(), cwd=ROOT
        )
    text = log.read_text(errors="replace")
    assert done.returncode == 0, f"buildah bud failed:\n{text[-6000:]}"
    steps = re.split(r"^\[\d+/\d+\] STEP ", text, flags=re.M)
    install = [s for s in steps if "--require-hashes" in s.split("\n", 1)[0]]
    cached = bool(install) and "Using cache" in install[-1]
    return Build(time.monotonic() - began, cached, log)


def image_size(b: Buildah, name: str) -> int:
    """Bytes, as `docker images` shows them (uncompressed; buildah prints "1.43 GB")."""
    out = json.loads(b.run("images", "--json", name))[0]["size"]
    number, unit = re.fullmatch(r"([\d.]+)\s*([kMG]?B)", out.strip()).groups()  # type: ignore[union-attr]
    return int(float(number) * {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}[unit])


# --- docker-compose.yml on the host's network ------------------------------------------
def compose_config(env_file: Path) -> dict[str, Any]:
    """docker-compose.yml as Compose resolves it with ``env_file``."""
    cmd = ["docker-compose", "--env-file", str(env_file), "-f", str(ROOT / "docker-compose.yml")]
    out = subprocess.run(
        [*cmd, "config"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**host_env(), "HOME": str(env_file.parent)},
    )
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


@dataclass
class HostNetwork:
    """Compose's network, mapped onto this machine: every service name is 127.0.0.1,
    every port the test's own, the database and role names the test's fresh ones."""

    ports: dict[int, int]
    names: dict[str, str]
    services: set[str]
    pg_port: int

    def text(self, value: str) -> str:
        def pg(m: re.Match[str]) -> str:
            user, password, db = m.group(1), m.group(2), m.group(3)
            return (
                f"postgresql://{self.names[user]}:{password}@127.0.0.1:{self.pg_port}/"
                f"{self.names[db]}"
            )

        value = re.sub(r"postgresql://([\w-]+):([^@]*)@postgres:5432/([\w-]+)", pg, value)

        def hostport(m: re.Match[str]) -> str:
            host, port = m.group(1), int(m.group(2))
            host = "127.0.0.1" if host in self.services or host == "0.0.0.0" else host
            return f"{host}:{self.ports.get(port, port)}"

        names = "|".join(re.escape(s) for s in sorted(self.services, key=len, reverse=True))
        value = re.sub(rf"\b({names}|localhost|0\.0\.0\.0):(\d+)\b", hostport, value)
        value = re.sub(r"--port=(\d+)", lambda m: f"--port={self.ports[int(m[1])]}", value)
        return value.replace("--host=0.0.0.0", "--host=127.0.0.1")

    def env(self, environment: dict[str, str]) -> dict[str, str]:
        out = {}
        for key, value in environment.items():
            value = "" if value is None else str(value)
            if value in self.services:
                value = "127.0.0.1"
            elif (key.endswith("_PORT") or key == "PGPORT") and value.isdigit():
                value = str(self.pg_port if value == "5432" else self.ports[int(value)])
            elif value in self.names and (key.startswith("DAGSTER_PG_") or key.startswith("PG")):
                # Role and database names: DAGSTER_PG_* and libpq's (MLflow's auth database).
                value = self.names[value]
            out[key] = self.text(value)
        return out


def _is_buildah(pid: int) -> bool | None:
    """Whether ``pid`` runs buildah itself or one of its chroot helpers (run from memory:
    `/memfd:buildah-chroot-runtime (deleted)`); None for a process that is gone."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None
    if Path(exe).name.startswith("memfd:buildah"):
        return True
    return os.path.realpath(exe) == os.path.realpath(shutil.which("buildah") or "/usr/bin/buildah")


@dataclass
class Service:
    """One service of docker-compose.yml in a container of its own made from the image."""

    b: Buildah
    name: str
    command: list[str]
    environment: dict[str, str]
    healthcheck: list[str]
    volumes: list[str]
    logs: Path
    container: str = ""
    process: Tracked | None = None
    started: float = 0.0
    checks: list[float] = field(default_factory=list)

    @classmethod
    def from_compose(
        cls, b: Buildah, name: str, spec: dict[str, Any], net: HostNetwork, volumes: list[str]
    ) -> Service:
        test = spec.get("healthcheck", {}).get("test", [])
        if test and test[0] == "CMD-SHELL":
            test = ["CMD", "sh", "-c", test[1]]
        return cls(
            b=b,
            name=name,
            command=[net.text(w) for w in spec["command"]],
            environment=net.env(spec.get("environment", {})),
            healthcheck=[net.text(w) for w in test[1:]],
            volumes=volumes,
            logs=Path(),
        )

    def run_args(self) -> list[str]:
        env = [f"--env={k}={v}" for k, v in self.environment.items()]
        # Compose's `cap_drop: [ALL]`. Its read-only root has no `buildah run` equivalent:
        # ``root_writes`` shows afterwards that nothing was written there.
        hardened = ["--cap-drop=ALL"]
        volumes = (f"--volume={v}" for v in self.volumes)
        return ["run", "--isolation=chroot", *hardened, *env, *volumes]

    def create(self, logs: Path) -> None:
        self.logs = logs
        self.container = f"fxctr-{self.name}-{os.getpid()}"
        self.b.run("rm", self.container, timeout=60) if self._exists() else None
        self.b.run("from", f"--name={self.container}", IMAGE)

    def _exists(self) -> bool:
        cmd = self.b.cmd("inspect", "--type=container", f"fxctr-{self.name}-{os.getpid()}")
        return subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0

    def start(self) -> Tracked:
        cmd = self.b.cmd(*self.run_args(), self.container, "--", *self.command)
        self.process = Tracked.start(cmd, host_env(), self.logs / f"{self.name}.log")
        self.started = time.monotonic()
        return self.process

    def run_once(self, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        cmd = self.b.cmd(*self.run_args(), self.container, "--", *self.command)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=host_env())

    def exec(self, words: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """A command in this service's container with its environment, as `docker exec`."""
        cmd = self.b.cmd(*self.run_args(), self.container, "--", *words)
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=host_env())

    def wait_healthy(self, timeout: float = 240) -> float:
        """Until the compose healthcheck passes; the seconds since the start."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.process.popen.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.process.tail()}")
            done = self.exec(self.healthcheck)
            if done.returncode == 0:
                return time.monotonic() - self.started
            last = (done.stdout + done.stderr)[-500:]
            time.sleep(2)
        raise AssertionError(f"{self.name} never healthy: {last}\n{self.process.tail()}")

    def main_pid(self) -> int | None:
        """The service's own first process (its PID 1 under Docker): the first process
        under buildah's helpers."""
        assert self.process is not None
        for pid in sorted(self.process.alive()):
            try:
                ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if _is_buildah(ppid) is True and _is_buildah(pid) is False:
                return pid
        return None

    def stop(self, grace: float) -> list[int]:
        """SIGTERM to the service's first process, as `docker stop` sends its PID 1;
        the pids still running after ``grace`` seconds are killed and returned."""
        assert self.process is not None
        self.process.seen.update(descendants(self.process.popen.pid))
        pid = self.main_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.popen.wait(grace)
        return self.process.stop(signal.SIGTERM, grace=5)

    def service_pids(self) -> dict[int, int]:
        """Uid of each process of the service itself (not buildah's own helpers)."""
        assert self.process is not None
        out = {}
        for pid in self.process.alive():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            if _is_buildah(pid) is False:
                out[pid] = int(re.search(r"^Uid:\s+(\d+)", status, flags=re.M)[1])  # type: ignore[index]
        return out

    def root_writes(self) -> list[str]:
        """What the service wrote to its own root: every path in the container's writable
        layer (overlay's upper directory) that its runtime did not make. Compose runs the
        service on a read-only root (`read_only: true`) with only its volumes and tmpfs
        mounts writable; `buildah run` has no read-only root, so the proof is afterwards:
        a service that wrote nothing here would have run on a read-only one.

        The runtime's own: the directories it makes as mount points (a volume's or a tmpfs'
        target and their parents) and the files ``RUNTIME_FILES`` names, with theirs."""
        merged = Path(self.b.run("mount", self.container).strip())
        try:
            upper = merged.parent / "diff"
            if not upper.is_dir():
                raise AssertionError(f"no overlay upper layer at {upper}: use the overlay driver")
            written = ["/" + str(p.relative_to(upper)) for p in upper.rglob("*")]
        finally:
            self.b.run("umount", self.container)
        made = {Path(v.split(":")[1]) for v in self.volumes} | {Path(f) for f in RUNTIME_FILES}
        runtime = {str(p) for path in made for p in (path, *path.parents)}
        return sorted(p for p in written if p not in runtime)

    def remove(self) -> None:
        if self.container:
            subprocess.run(self.b.cmd("rm", self.container), capture_output=True, timeout=60)
