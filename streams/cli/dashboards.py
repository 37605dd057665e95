"""`kpimon dashboards build`: write the Grafana boards generated from code as JSON files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from streams.settings import Settings


def add_command(sub: Any) -> None:
    parser = sub.add_parser("dashboards", help="Grafana boards generated from code")
    commands = parser.add_subparsers(dest="dashboards_command", required=True, metavar="COMMAND")
    build = commands.add_parser("build", help="write dashboards/*.json from the board code")
    build.add_argument(
        "--out-dir",
        type=Path,
        default=Path("dashboards"),
        help="directory for the JSON files (default: dashboards)",
    )
    build.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when a file in --out-dir differs from the code",
    )
    build.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from dashboards.build import stale, write_all

    if args.check:
        outdated = stale(args.out_dir)
        for path in outdated:
            print(f"stale: {path} (run `kpimon dashboards build`)")
        return 1 if outdated else 0
    for path in write_all(args.out_dir):
        print(f"wrote {path}")
    return 0
