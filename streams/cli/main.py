"""`kpimon` — the command line. Builds Settings once and hands them to a command.

Each command lives in its own module of `streams.cli` and exposes
`add_command(subparsers)`, which registers a parser whose `func` is
`run(args, settings) -> int` (the exit status).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from streams.settings import Settings

# Command modules, in the order `kpimon --help` lists them.
COMMANDS: tuple[str, ...] = (
    "worker",
    "exporter",
    "simulate",
    "publish",
    "dead_letters",
    "topics",
    "schema",
    "alerts",
    "dashboards",
    "summary",
    "config",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kpimon", description="Inventory KPI Monitor: streaming inventory KPIs and alerts."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"streams.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"streams.cli.{name}":
                raise
            continue  # a command not built yet
        module.add_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    from streams.logs import configure_logging

    configure_logging(settings)
    status: int = args.func(args, settings)
    return status


if __name__ == "__main__":
    sys.exit(main())
