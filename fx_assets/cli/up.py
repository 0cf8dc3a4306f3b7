"""``fx up``: the deployment's services as local processes, under honcho.

The same services as ``docker-compose.yml`` (Dagster code server, webserver and daemon,
MLflow server, model service, dashboard), run from ``deploy/Procfile`` by honcho's
process manager: one coloured log stream, and Ctrl-C (or any service exiting) stops them
all. Dagster runs on a copy of the repo's root ``dagster.yaml``: on PostgreSQL when
``DAGSTER_PG_HOST`` is set, else on SQLite in the Dagster home, so the runs of ``fx run``
show up too (the file's storage chooses, see ``fx_assets/dagster_adapter.py``). On an empty
warehouse the daemon's bootstrap sensor then backfills, trains and forecasts once. The
warehouse and the MLflow store are the embedded defaults unless ``FX_WAREHOUSE_URL`` and
``MLFLOW_BACKEND_STORE_URI`` say otherwise. Every setting is read through ``Settings``;
Dagster-free apart from what the child processes import.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fx_assets.cli import up_auth
from fx_assets.core.models.store import ensure_tracking_store
from fx_assets.core.redaction import redact_url
from fx_assets.core.settings import Settings, load_settings, sqlite_url

GENERATED_MARKER = (
    "# Written by `fx up` from the repository's dagster.yaml; rewritten at each start."
)
# What `fx` writes into a new Dagster home; `fx up` may replace it.
TELEMETRY_ONLY = "telemetry:\n  enabled: false\n"
READY_TIMEOUT_S = 300.0


class UpError(RuntimeError):
    """``fx up`` cannot start; the message says what to fix."""


@dataclass(frozen=True)
class Endpoint:
    service: str
    label: str
    url: str
    health: str


def deploy_dir() -> Path:
    """The repo's ``deploy/`` folder: in the working directory, else beside the package."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        if (root / "deploy" / "Procfile").is_file():
            return root / "deploy"
    raise UpError("deploy/Procfile not found: run `fx up` from a checkout of the repository")


def procfile(deploy: Path) -> dict[str, str]:
    from honcho.environ import parse_procfile

    return dict(parse_procfile((deploy / "Procfile").read_text()).processes)


def instance_yaml(deploy: Path) -> str:
    """The root dagster.yaml as is: its storage picks PostgreSQL or SQLite by itself."""
    return f"{GENERATED_MARKER}\n{(deploy.parent / 'dagster.yaml').read_text()}"


def dagster_home(settings: Settings) -> Path:
    """$DAGSTER_HOME; a PostgreSQL instance gets its own folder unless DAGSTER_HOME was given."""
    assert settings.dagster_home is not None  # filled from FX_HOME by the settings
    if settings.dagster_pg_host and not settings.is_set("dagster_home"):
        return settings.home / "dagster-postgres"
    return settings.dagster_home


def write_instance(home: Path, text: str) -> bool:
    """Write ``dagster.yaml`` unless the folder holds one the user wrote; True if written."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    if path.exists():
        current = path.read_text()
        if not (current.startswith(GENERATED_MARKER) or current == TELEMETRY_ONLY):
            return False
    path.write_text(text)
    return True


def migrate(url: str | None = None) -> str:
    """Create the warehouse tables that do not exist yet; returns the (redacted) URL."""
    from fx_assets.core.warehouse import Warehouse

    url = url or load_settings().warehouse_url
    Warehouse(url).dispose()
    return redact_url(url)


def build_env(
    args: argparse.Namespace, settings: Settings, deploy: Path, home: Path
) -> dict[str, str]:
    """One environment for every process: the caller's, plus where each service listens."""
    env = dict(os.environ)
    local = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    # The services' commands come from this interpreter's environment (the venv's bin).
    scripts = str(Path(sys.executable).parent)
    env.update(
        {
            "PATH": os.pathsep.join([scripts, env.get("PATH", "")]),
            "PYTHONUNBUFFERED": "1",
            "FX_HOME": str(settings.home),
            "DAGSTER_HOME": str(home),
            "FX_UP_HOST": args.host,
            "FX_UP_WORKSPACE": str(deploy / "dagster" / "workspace.yaml"),
            "DAGSTER_CODE_HOST": local,
            "DAGSTER_CODE_PORT": str(args.code_port),
            "DAGSTER_WEBSERVER_PORT": str(args.dagster_port),
            "MLFLOW_PORT": str(args.mlflow_port),
            "FX_API_PORT": str(args.api_port),
            "FX_DASH_PORT": str(args.dash_port),
            "FX_WAREHOUSE_URL": settings.warehouse_url,
            "MLFLOW_BACKEND_STORE_URI": backend_store(settings),
            "MLFLOW_ARTIFACTS_DESTINATION": settings.mlflow_artifacts_destination
            or str(settings.home / "mlartifacts"),
            # Everything else talks to MLflow through the server, and predicts through the
            # model service, as in the deployment.
            "MLFLOW_TRACKING_URI": f"http://{local}:{args.mlflow_port}",
            "FX_MODEL_SERVICE_URL": settings.model_service_url or f"http://{local}:{args.api_port}",
            # The service refuses to start without a token: one per session unless given.
            "FX_API_TOKEN": settings.secret(settings.api_token) or secrets.token_urlsafe(32),
            # The dashboard and the model service only read the warehouse; a read-only role
            # can be given to them alone (the deployment gives them one).
            "FX_READONLY_WAREHOUSE_URL": settings.readonly_warehouse_url or settings.warehouse_url,
        }
    )
    return env


def backend_store(settings: Settings) -> str:
    """The MLflow server's own store: the embedded one unless a server URL is given."""
    if settings.mlflow_backend_store_uri:
        return settings.mlflow_backend_store_uri
    tracking = settings.mlflow_tracking_uri
    assert tracking is not None  # filled from FX_HOME by the settings
    if tracking.startswith(("http:", "https:")):
        return sqlite_url(settings.home / "mlflow.db")
    return tracking


def endpoints(args: argparse.Namespace) -> list[Endpoint]:
    local = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    base = f"http://{local}"
    return [
        Endpoint(
            "dagster-webserver",
            "Dagster UI",
            f"{base}:{args.dagster_port}",
            f"{base}:{args.dagster_port}/server_info",
        ),
        Endpoint(
            "mlflow", "MLflow", f"{base}:{args.mlflow_port}", f"{base}:{args.mlflow_port}/health"
        ),
        Endpoint(
            "model-service",
            "model service",
            f"{base}:{args.api_port}/docs",
            f"{base}:{args.api_port}/health",
        ),
        Endpoint("dashboard", "dashboard", f"{base}:{args.dash_port}", f"{base}:{args.dash_port}/"),
    ]


def metrics_url(args: argparse.Namespace) -> str:
    local = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    return f"http://{local}:{args.api_port}/metrics"


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return 200 <= resp.status < 400
    except (urllib.error.URLError, OSError, ValueError):
        return False


def watch_ready(targets: list[Endpoint], stop: threading.Event, echo=print) -> None:  # type: ignore[no-untyped-def]
    """Print each service's URL once it answers, then one line when all of them do."""
    pending = list(targets)
    deadline = time.monotonic() + READY_TIMEOUT_S
    while pending and not stop.is_set() and time.monotonic() < deadline:
        for ep in list(pending):
            if _answers(ep.health):
                echo(f"fx up: ready  {ep.label:<14} {ep.url}")
                pending.remove(ep)
        stop.wait(1.0)
    if stop.is_set():
        return
    if pending:
        names = ", ".join(ep.service for ep in pending)
        echo(f"fx up: not answering after {READY_TIMEOUT_S:.0f} s: {names}")
    else:
        echo(f"fx up: all {len(targets)} services ready; Ctrl-C stops them all")


def describe(env: Mapping[str, str], home: Path, postgres: bool) -> list[str]:
    pg = (
        f"PostgreSQL {env['DAGSTER_PG_HOST']}:{env.get('DAGSTER_PG_PORT', '5432')}"
        f"/{env.get('DAGSTER_PG_DB', '')}"
        if postgres
        else "SQLite"
    )
    return [
        f"fx up: Dagster instance  {home}/dagster.yaml ({pg})",
        f"fx up: warehouse         {redact_url(env['FX_WAREHOUSE_URL'])}",
        f"fx up: MLflow store      {redact_url(env['MLFLOW_BACKEND_STORE_URI'])}",
        f"fx up: MLflow artifacts  {env['MLFLOW_ARTIFACTS_DESTINATION']}",
    ]


def register_book(home: Path, settings: Settings) -> None:
    """FX_PAIRS as the instance's "pair" partitions, and its pools, before anything starts:
    a run launched
    in the first seconds (from the UI or a test) finds its pair (the bootstrap sensor
    would register them too, but only at its first tick)."""
    from dagster import DagsterInstance

    from fx_assets.defs.ingestion.partitions import register_pairs
    from fx_assets.defs.pools import ensure_pools

    os.environ["DAGSTER_HOME"] = str(home)
    with DagsterInstance.get() as instance:
        register_pairs(instance, settings.book)
        ensure_pools(instance)


def up(args: argparse.Namespace) -> int:
    from honcho.manager import Manager

    settings = load_settings()
    deploy = deploy_dir()
    processes = procfile(deploy)
    unknown = [s for s in args.services if s not in processes]
    if unknown:
        raise UpError(f"unknown service {unknown[0]!r}; choose from {', '.join(processes)}")
    chosen = args.services or list(processes)
    postgres = bool(settings.dagster_pg_host)
    home = dagster_home(settings)
    if not write_instance(home, instance_yaml(deploy)):
        print(f"fx up: keeping your {home / 'dagster.yaml'} (not written by fx up)")
    env = build_env(args, settings, deploy, home)
    env.update(up_auth.server_env(settings, deploy))
    try:
        migrate(env["FX_WAREHOUSE_URL"])
    except Exception as exc:
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        where = redact_url(env["FX_WAREHOUSE_URL"])
        raise UpError(f"cannot open the warehouse at {where}: {cause}") from None
    # The MLflow server, the code server, the daemon, the service and the dashboard start
    # together; whichever touched a new store first would race the others.
    ensure_tracking_store(
        env["MLFLOW_BACKEND_STORE_URI"], settings.mlflow_artifact_root, lock_dir=settings.home
    )
    register_book(home, settings)
    for line in describe(env, home, postgres):
        print(line)
    targets = [ep for ep in endpoints(args) if ep.service in chosen]
    for ep in targets:
        print(f"fx up: {ep.label:<14} {ep.url}")
    if "model-service" in chosen:
        # Where Prometheus scrapes (open unless FX_METRICS_TOKEN is set, like /health).
        print(f"fx up: {'metrics':<14} {metrics_url(args)}")
    sys.stdout.flush()

    manager = Manager()
    for name in chosen:
        own = up_auth.process_env(name, env, settings)
        manager.add_process(name, processes[name], env=own, cwd=str(deploy.parent))
    stop = threading.Event()
    watcher = threading.Thread(target=watch_ready, args=(targets, stop), daemon=True)
    watcher.start()
    if up_auth.enabled(settings) and "mlflow" in chosen:
        url, ready = env["MLFLOW_TRACKING_URI"], Path(env[up_auth.READY_VARIABLE])
        users = threading.Thread(
            target=up_auth.provision_when_up, args=(url, settings, ready), daemon=True
        )
        users.start()
    try:
        manager.loop()
    finally:
        stop.set()
    return manager.returncode or 0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "services",
        nargs="*",
        metavar="SERVICE",
        help="only these services (names as in deploy/Procfile); default: all",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--dagster-port", type=int, default=3000)
    parser.add_argument("--mlflow-port", type=int, default=5000)
    parser.add_argument("--api-port", type=int, default=8000)
    parser.add_argument("--dash-port", type=int, default=8050)
    parser.add_argument("--code-port", type=int, default=4000, help="Dagster gRPC code server")


def wait_for_port(address: str, timeout: float = READY_TIMEOUT_S) -> int:
    """Block until ``HOST:PORT`` accepts TCP connections (0), or give up (1)."""
    import socket

    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=2):
                return 0
        except OSError:
            time.sleep(0.5)
    print(f"fx up: nothing listens on {address} after {timeout:.0f} s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    # `python -m fx_assets.cli.up wait HOST:PORT`: the Procfile starts the webserver and the
    # daemon once the code server listens, instead of letting them fail to load it first.
    # `wait-users FILE`: MLflow's clients start once `fx up` made its users (or at once).
    if len(sys.argv) == 3 and sys.argv[1] == "wait-users":
        sys.exit(up_auth.wait_ready(sys.argv[2]))
    if len(sys.argv) != 3 or sys.argv[1] != "wait":
        sys.exit("usage: python -m fx_assets.cli.up wait HOST:PORT | wait-users FILE")
    sys.exit(wait_for_port(sys.argv[2]))
