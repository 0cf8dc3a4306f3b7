"""The ``fx`` command: run the pipeline and the services from one entry point."""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext

from fx_assets.cli.errors import CliError, PipelineError
from fx_assets.cli.mlflow_users import cmd_mlflow_users
from fx_assets.cli.models import (
    cmd_models,
    cmd_promote,
    cmd_rollback,
    models_args,
    promote_args,
    rollback_args,
)
from fx_assets.core.ingestion.sources import SourceError
from fx_assets.core.models.registry import RegistryError
from fx_assets.core.redaction import redact_url
from fx_assets.core.settings import ConfigError, load_settings


def prepare_environment() -> None:
    """Point Dagster at ``$FX_HOME/dagster`` unless DAGSTER_HOME says otherwise."""
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    # The setting is DAGSTER_HOME when that is set: Dagster itself reads the variable.
    home = settings.dagster_home
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    instance_yaml = home / "dagster.yaml"
    if not instance_yaml.exists():
        # SQLite instance with defaults; only telemetry is switched off.
        instance_yaml.write_text("telemetry:\n  enabled: false\n")


# sysexits' EX_TEMPFAIL: another run holds the home, try again later.
EXIT_BUSY = 75


def ignore_import_warnings() -> None:
    """Dagster 1.13 flags backfill_policy and dagster-mlflow's hook as beta whenever they are
    imported: noise for a CLI user (``fx`` and each of ``fx run``'s per-pair processes)."""
    warnings.filterwarnings("ignore", message=".*backfill_policy.*")
    warnings.filterwarnings("ignore", message=".*_create_mlflow_run_hook.*")


class _Discard(io.TextIOBase):
    """A text stream that keeps nothing."""

    def write(self, text: str) -> int:
        return len(text)


@contextmanager
def quiet_libraries() -> Iterator[None]:
    """Library chatter (MLflow's migrations and progress bars, our own warnings) is repeated
    as run output where it matters; --verbose shows it as it happens. Used by ``fx run`` and
    by each of its per-pair processes. Everything it changes is put back on exit: ``fx run``
    called in a process that goes on (a test, a notebook) must not leave the package's own
    warnings switched off behind it."""
    import logging

    # MLflow prints some lines itself ("Successfully registered model ..."): ``eprint`` to
    # the module's MLFLOW_LOGGING_STREAM, not through logging. Its own switch
    # (``disable_logging``) is switched back on by MLflow's internal contexts, so the
    # stream eprint looks up is swapped for one that keeps nothing, and put back after.
    from mlflow.utils import logging_utils

    stream = logging_utils.MLFLOW_LOGGING_STREAM
    env = {"MLFLOW_LOGGING_LEVEL": "WARNING", "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
    set_env = [k for k in env if k not in os.environ]
    loggers = [logging.getLogger(name) for name in ("mlflow", "fx_assets", "alembic")]
    levels = [logger.level for logger in loggers]
    for key in set_env:
        os.environ[key] = env[key]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    logging_utils.MLFLOW_LOGGING_STREAM = _Discard()
    try:
        yield
    finally:
        logging_utils.MLFLOW_LOGGING_STREAM = stream
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
        for key in set_env:
            os.environ.pop(key, None)


def cmd_run(args: argparse.Namespace) -> int:
    from fx_assets.cli.run import run_pipeline
    from fx_assets.core.locking import LockBusy, home_lock
    from fx_assets.core.models.store import ensure_tracking_store

    settings = load_settings()
    log_level = "DEBUG" if args.verbose else settings.log_level
    quiet = quiet_libraries() if log_level is None else nullcontext()
    try:
        with quiet, home_lock(settings.home, wait=args.wait):
            ensure_tracking_store(
                settings.mlflow_tracking_uri, settings.mlflow_artifact_root, lock_dir=settings.home
            )
            return run_pipeline(echo=print, log_level=log_level, pairs=args.pairs)
    except LockBusy as exc:
        print(f"fx run: {exc}", file=sys.stderr)
        return EXIT_BUSY


def _pairs(text: str) -> tuple[str, ...]:
    from fx_assets.core.pairs import PairError, parse_book

    try:
        return parse_book(text)
    except PairError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _run_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pair",
        dest="pairs",
        type=_pairs,
        default=None,
        metavar="PAIRS",
        help="run only these pairs (comma-separated, e.g. GBPUSD,USDJPY; default FX_PAIRS)",
    )
    parser.add_argument(
        "--verbose", action="store_true", help="show Dagster's own log lines (or FX_LOG_LEVEL)"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="when another fx run holds FX_HOME, wait this long for it (default: refuse at once)",
    )


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from fx_serving.access import api_token
    from fx_serving.app import reload_interval

    reload_interval()  # a bad FX_CHAMPION_RELOAD_SECONDS fails here, in one line
    api_token(load_settings())  # so does a missing or short FX_API_TOKEN
    print(f"fx api: model service on http://{args.host}:{args.port} (docs at /docs)")
    uvicorn.run(
        "fx_serving.app:app",
        host=args.host,
        port=args.port,
        log_level="info",
        access_log=args.access_log,
    )
    return 0


def _api_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface (0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="log every request (off by default: it costs a fifth of a one-row request)",
    )


def cmd_up(args: argparse.Namespace) -> int:
    from fx_assets.cli.up import UpError, up

    try:
        return up(args)
    except UpError as exc:
        raise CliError(str(exc)) from None


def _up_args(parser: argparse.ArgumentParser) -> None:
    from fx_assets.cli.up import configure

    configure(parser)


def cmd_migrate(args: argparse.Namespace) -> int:
    from fx_assets.cli.up import migrate

    print(f"fx migrate: warehouse tables ready at {migrate()}")
    return 0


def cmd_dash(args: argparse.Namespace) -> int:
    # Importing builds the app; a bad FX_DASH_REFRESH_SECONDS fails here, in one line.
    from fx_dash.app import app

    print(f"fx dash: dashboard on http://{args.host}:{args.port} (read-only)")
    app.run(host=args.host, port=args.port, debug=False)
    return 0


def _dash_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface (0.0.0.0 for all)")
    parser.add_argument("--port", type=int, default=8050, help="TCP port (default 8050)")


def cmd_info(args: argparse.Namespace) -> int:
    s = load_settings()
    print(f"FX_HOME       {s.home}")
    print(f"warehouse     {redact_url(s.warehouse_url)}")
    print(f"mlflow        {redact_url(s.mlflow_tracking_uri)}")
    print(f"source        {s.source}")
    print(f"DAGSTER_HOME  {s.dagster_home}")
    return 0


def cmd_alert_test(args: argparse.Namespace) -> int:
    from fx_assets.core.alerts import AlertConfig, Notifier

    config = AlertConfig.from_settings(load_settings())
    if not config.channels():
        raise CliError(
            "no alert channel configured: set FX_ALERT_WEBHOOK_URL, or FX_ALERT_EMAIL_TO "
            "with FX_SMTP_HOST"
        )
    results = Notifier(config).test()
    for channel, outcome in results.items():
        print(f"fx alert-test: {channel}: {outcome}")
    return 0 if all(v == "sent" for v in results.values()) else 1


Command = tuple[
    str, str, Callable[[argparse.Namespace], int], Callable[[argparse.ArgumentParser], None] | None
]


def _commands() -> list[Command]:
    return [
        (
            "run",
            "Run the whole pipeline in process (offline with the ECB source).",
            cmd_run,
            _run_args,
        ),
        ("api", "Serve the champion model and the forecasts over REST.", cmd_api, _api_args),
        ("dash", "Serve the dashboard: forecast, prices, accuracy, model.", cmd_dash, _dash_args),
        ("info", "Show where the warehouse, MLflow store and Dagster home are.", cmd_info, None),
        (
            "models",
            "List a pair's model versions: aliases, lifecycle, test PR-AUC.",
            cmd_models,
            models_args,
        ),
        ("promote", "Make a version the champion (logged).", cmd_promote, promote_args),
        ("rollback", "Restore the last archived champion (logged).", cmd_rollback, rollback_args),
        ("up", "Start the whole stack as local processes (Ctrl-C stops it).", cmd_up, _up_args),
        ("migrate", "Create the warehouse tables that do not exist yet.", cmd_migrate, None),
        ("alert-test", "Send a test alert to the configured channels.", cmd_alert_test, None),
        (
            "mlflow-users",
            "Create the MLflow server's users and grants (training writes, readers read).",
            cmd_mlflow_users,
            None,
        ),
    ]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fx", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text, func, configure in _commands():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if configure:
            configure(p)
        p.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    ignore_import_warnings()
    started = time.perf_counter()
    try:
        prepare_environment()
        code = args.func(args)
    except (CliError, ConfigError, PipelineError, RegistryError, SourceError) as exc:
        print(f"fx {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"fx {args.command}: interrupted", file=sys.stderr)
        return 130
    if args.command == "run" and code == 0:
        print(f"fx run: done in {time.perf_counter() - started:.1f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
