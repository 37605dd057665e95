"""`kpimon worker`: run the stream processor (faust-streaming).

Exit status: 0 after a normal stop; when the worker gives up (see `streams.retry`)
the status says why: 69 a dependency stayed unavailable past
`KPIMON_WORKER__MAX_STALL_SECONDS`, 70 the KPI process keeps dying (or an unexpected
error), 76 Redis or Kafka kept refusing the same request, 78 the input topics are not
co-partitioned (SPEC §4.2; checked at start). Giving up stops the worker
the way SIGTERM does (offsets of applied batches only are committed, the KPI process
is stopped); if that takes longer than `FATAL_STOP_SECONDS` the process exits anyway.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from typing import Any

import structlog

from streams.retry import Fatal
from streams.settings import Settings

log = structlog.get_logger(__name__)

# A worker that gave up is stopped gracefully, but exits after this long regardless.
FATAL_STOP_SECONDS = 30.0
# sysexits.h EX_CONFIG: the topics are set up in a way the worker cannot run on.
EXIT_NOT_CO_PARTITIONED = 78


def add_command(sub: Any) -> None:
    parser = sub.add_parser("worker", help="run the stream processor")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    import faust
    from prometheus_client import start_http_server

    from streams.worker.app import build_app

    problem = topics_problem(settings)
    if problem is not None:
        log.critical("worker refuses to start", reason=problem)
        return EXIT_NOT_CO_PARTITIONED
    app, runtime = build_app(settings)
    start_http_server(settings.worker.metrics_port, addr=settings.worker.host)
    worker = faust.Worker(
        app, loglevel=settings.log_level.lower(), quiet=True, redirect_stdouts=False
    )
    runtime.on_fatal = stop_for
    status: Any = 0
    try:
        worker.execute_from_commandline()
    except SystemExit as exit_:
        status = exit_.code
    if runtime.fatal is not None:
        log.critical(
            "worker exits: it cannot make progress",
            exit_code=runtime.fatal.exit_code,
            reason=str(runtime.fatal),
        )
        return runtime.fatal.exit_code
    return status if isinstance(status, int) else (0 if status is None else 1)


def topics_problem(settings: Settings) -> str | None:
    """Why the input topics cannot be consumed as they are, or None (SPEC §4.2).

    Topics of different partition counts are refused. A broker out of reach or
    missing topics are only logged: the worker's own retries and topic creation
    deal with those.
    """
    from streams.kafka.topics import co_partitioning_problem, partition_counts

    try:
        counts = partition_counts(settings.kafka)
    except Exception as error:  # any client error: the check is advisory then
        log.warning("co-partitioning not checked", error=repr(error)[:300])
        return None
    problem = co_partitioning_problem(counts)
    if problem is not None and any(count is None for count in counts.values()):
        log.warning("input topics missing at start", reason=problem)
        return None
    return problem


def stop_for(error: Fatal) -> None:
    """Stop the worker as SIGTERM does; exit with `error.exit_code` if that hangs."""
    watchdog = threading.Timer(FATAL_STOP_SECONDS, _exit_now, args=(error.exit_code,))
    watchdog.daemon = True
    watchdog.start()
    os.kill(os.getpid(), signal.SIGTERM)


def _exit_now(code: int) -> None:
    log.critical("worker did not stop in time; exiting now", exit_code=code)
    os._exit(code)
