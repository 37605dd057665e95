"""`kpimon worker`: run the stream processor (faust-streaming)."""

from __future__ import annotations

import argparse
from typing import Any

from streams.settings import Settings


def add_command(sub: Any) -> None:
    parser = sub.add_parser("worker", help="run the stream processor")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import faust
    from prometheus_client import start_http_server

    from streams.worker.app import build_app

    app, _runtime = build_app(settings)
    start_http_server(settings.worker.metrics_port, addr=settings.worker.host)
    worker = faust.Worker(
        app, loglevel=settings.log_level.lower(), quiet=True, redirect_stdouts=False
    )
    worker.execute_from_commandline()
    return 0
