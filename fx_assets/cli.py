"""The ``fx`` command: run the pipeline and the services from one entry point."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

from fx_assets.config import ConfigError, load_settings, redact_url
from fx_assets.pipeline import PipelineError
from fx_assets.sources import SourceError


class CliError(RuntimeError):
    """An error meant for the user: printed as one line, no traceback."""


def prepare_environment() -> None:
    """Point Dagster at ``$FX_HOME/dagster`` unless DAGSTER_HOME says otherwise."""
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home))
    home = os.environ["DAGSTER_HOME"]
    os.makedirs(home, exist_ok=True)
    instance_yaml = os.path.join(home, "dagster.yaml")
    if not os.path.exists(instance_yaml):
        # SQLite instance with defaults; only telemetry is switched off.
        with open(instance_yaml, "w") as fh:
            fh.write("telemetry:\n  enabled: false\n")


def cmd_run(args: argparse.Namespace) -> int:
    from fx_assets.pipeline import run_pipeline

    return run_pipeline(echo=print)


def cmd_info(args: argparse.Namespace) -> int:
    s = load_settings()
    print(f"FX_HOME       {s.home}")
    print(f"warehouse     {redact_url(s.warehouse_url)}")
    print(f"mlflow        {redact_url(s.mlflow_tracking_uri)}")
    print(f"source        {s.source}")
    print(f"DAGSTER_HOME  {os.environ.get('DAGSTER_HOME', s.dagster_home)}")
    return 0


Command = tuple[
    str, str, Callable[[argparse.Namespace], int], Callable[[argparse.ArgumentParser], None] | None
]


def _commands() -> list[Command]:
    return [
        ("run", "Run the whole pipeline in process (offline with the ECB source).", cmd_run, None),
        ("info", "Show where the warehouse, MLflow store and Dagster home are.", cmd_info, None),
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
    started = time.perf_counter()
    try:
        prepare_environment()
        code = args.func(args)
    except (CliError, ConfigError, PipelineError, SourceError) as exc:
        print(f"fx {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"fx {args.command}: interrupted", file=sys.stderr)
        return 130
    if args.command == "run":
        print(f"fx run: done in {time.perf_counter() - started:.1f} s")
    return code


if __name__ == "__main__":
    sys.exit(main())
