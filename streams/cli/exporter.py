"""`kpimon exporter`: serve the KPIs in Redis as Prometheus metrics."""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

import structlog

from streams.settings import Settings

log = structlog.get_logger(__name__)


def add_command(sub: Any) -> None:
    parser = sub.add_parser("exporter", help="serve /metrics from the state in Redis")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from prometheus_client import CollectorRegistry

    from streams.exporter.collector import RedisStateCollector
    from streams.exporter.exposition import start_server
    from streams.store.connection import sync_client

    registry = CollectorRegistry()
    registry.register(RedisStateCollector(sync_client(settings.redis), settings))
    # prometheus_client's server and app, with the KPI families' lines pre-rendered.
    server, thread = start_server(settings.exporter.host, settings.exporter.port, registry)
    log.info("exporter listening", host=settings.exporter.host, port=settings.exporter.port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    thread.join(timeout=5)
    return 0
