"""The KPI process: `KpiRuntime` fed by the worker over a pipe (see `kpi_process`).

Run by the worker as `python -m streams.worker.kpi_child --parent-pid PID`: frames
come on stdin and go back on the original stdout; anything else written to stdout
goes to stderr (the worker's log), so a stray print cannot corrupt a frame.

It never outlives its worker. At start it asks Linux to SIGKILL it when its parent
dies (`prctl(PR_SET_PDEATHSIG)`), then checks that its parent is still the worker
that started it (the worker may have died before the request was made). A closed
input alone is not enough: a child busy rebuilding gigabytes of state does not
read its input for minutes. Where prctl is not available, a thread watches the
parent pid instead.

The alert producer connects in the background: KPIs and snapshots do not wait for
the broker, and alerts wait in the Redis outbox until it is there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import os
import pickle
import signal
import sys
import threading
import time
from typing import Any

import structlog

from streams.kafka.client import aiokafka_config
from streams.kafka.topics import TopicNames
from streams.logs import configure_logging
from streams.retry import EXIT_SOFTWARE, Backoff, Fatal, retry
from streams.settings import Settings
from streams.store.connection import async_client
from streams.store.redis_store import RedisKpiStore
from streams.worker.faults import worker_verdict
from streams.worker.frames import encode_frame, read_frame
from streams.worker.kpi_runtime import KpiRuntime, retention_seconds, stored_event
from streams.worker.metrics import event_lag_histogram

log = structlog.get_logger(__name__)

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# The child's exit status when it finds its worker already gone at start.
EXIT_ORPHANED = 3
# How often the fallback watcher (no prctl) looks at the parent pid.
PARENT_POLL_SECONDS = 0.5
# Between two connection attempts of the alert producer.
PRODUCER_BACKOFF = Backoff(initial_seconds=0.5, max_seconds=30.0)
PRODUCER_STOP_SECONDS = 5.0


class Orphaned(Exception):
    """The worker that started this process is gone."""


def die_with_parent(parent_pid: int) -> bool:
    """Be SIGKILLed when the parent dies; raises `Orphaned` if it is already gone.

    Returns False when the kernel does not offer the parent-death signal (not Linux):
    the caller then watches the parent itself (`watch_parent`).
    """
    supported = True
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            supported = False
            log.warning("prctl(PR_SET_PDEATHSIG) failed", errno=ctypes.get_errno())
    except (OSError, AttributeError):
        supported = False
    # The parent may have died before the request: the process then has a new parent.
    if os.getppid() != parent_pid:
        raise Orphaned(f"the worker (pid {parent_pid}) is gone")
    return supported


def watch_parent(parent_pid: int, interval: float = PARENT_POLL_SECONDS) -> threading.Thread:
    """A daemon thread that ends this process when its parent is no longer `parent_pid`.

    A thread, not a task: it runs while the event loop is busy computing.
    """

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent_pid:
                os.kill(os.getpid(), signal.SIGKILL)

    thread = threading.Thread(target=watch, name="kpi-parent-watch", daemon=True)
    thread.start()
    return thread


class KpiChild:
    """Serves the worker's frames in order; computes on ticks without holding up feeds."""

    def __init__(self, runtime: KpiRuntime, out_fd: int) -> None:
        self.runtime = runtime
        self._out = out_fd
        self._computing: asyncio.Task[None] | None = None

    def send(self, *items: Any) -> None:
        frame = encode_frame(*items)
        while frame:  # small frames; a blocking write is fine
            written = os.write(self._out, frame)
            frame = frame[written:]

    async def serve(self, frames: asyncio.StreamReader) -> None:
        while True:
            try:
                frame = await read_frame(frames)
            except asyncio.IncompleteReadError:
                return  # the worker closed the pipe
            kind = frame[0]
            if kind == "feed":
                await self.feed(frame[1], frame[2], frame[3])
            elif kind == "tick":
                if self._computing is None or self._computing.done():
                    self._computing = asyncio.create_task(self.compute(frame[1]))
            elif kind == "reload":
                await self.runtime.reload()
                self.send("reloaded")
            elif kind == "prune":
                self.runtime.prune()
            else:
                log.error("unknown frame from the worker", kind=kind)

    async def feed(self, stored_at: float, catching_up: bool, payloads: list[bytes]) -> None:
        fresh = [event for event in map(stored_event, payloads) if event is not None]
        lag = event_lag_histogram()  # this batch's: the worker adds it to its own
        await self.runtime.feed(fresh, stored_at, catching_up, lag)
        self.send("fed", lag.counts, lag.total)

    async def compute(self, lag: int) -> None:
        await self.runtime.compute(lag)
        if self.runtime.snapshot_seconds:
            self.send("snapshots", self.runtime.snapshot_seconds)
            self.runtime.snapshot_seconds.clear()


class AlertProducer:
    """The `kpi-alerts` producer of the KPI process, connected in the background.

    Until it is connected, a send raises a transient `KafkaConnectionError`: the alert
    dispatcher keeps the alert in its outbox and tries again with back-off. Connecting
    is retried for as long as the broker is unreachable; an error a retry cannot cure
    (refused credentials) fails `connecting`, which ends the process.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._topic = TopicNames(settings.kafka.topic_prefix).alerts
        self._producer: Any = None
        self.connecting: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.connecting = asyncio.create_task(self._connect(), name="alert-producer")

    async def _connect(self) -> None:
        self._producer = await retry(
            self._start_one,
            what="kafka unavailable for alerts",
            verdict=worker_verdict,
            backoff=PRODUCER_BACKOFF,
        )
        log.info("alert producer connected")

    async def _start_one(self) -> Any:
        from aiokafka import AIOKafkaProducer

        # acks=all, as faust's producer in the worker: an alert sent is on every replica.
        producer = AIOKafkaProducer(
            **aiokafka_config(self._settings.kafka),
            acks="all",
            request_timeout_ms=int(self._settings.worker.send_timeout_seconds * 1000),
        )
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        return producer

    async def send(self, key: bytes, value: bytes) -> None:
        if self._producer is None:
            from aiokafka.errors import KafkaConnectionError

            raise KafkaConnectionError("the alert producer is not connected yet")
        await self._producer.send_and_wait(self._topic, value=value, key=key)

    async def stop(self) -> None:
        if self.connecting is not None and not self.connecting.done():
            self.connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.connecting
        if self._producer is not None:
            try:
                await asyncio.wait_for(self._producer.stop(), PRODUCER_STOP_SECONDS)
            except TimeoutError:
                log.warning("alert producer did not stop in time")


async def main(out_fd: int) -> int:
    """Serve the worker until it closes the pipe; returns the exit status."""
    loop = asyncio.get_running_loop()
    frames = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(frames), sys.stdin.buffer)
    kind, pickled = await read_frame(frames)
    if kind != "settings":
        raise SystemExit(f"expected the settings frame first, got {kind!r}")
    settings: Settings = pickle.loads(pickled)
    configure_logging(settings)
    producer = AlertProducer(settings)
    producer.start()
    store = RedisKpiStore(
        async_client(settings.redis), settings.redis.key_prefix, retention_seconds(settings)
    )
    runtime = KpiRuntime(settings, store, producer.send)
    child = KpiChild(runtime, out_fd)
    try:
        await runtime.start()
        child.send("ready")
        serving = asyncio.create_task(child.serve(frames), name="kpi-serve")
        connecting = producer.connecting
        assert connecting is not None
        done, _ = await asyncio.wait({serving, connecting}, return_when=asyncio.FIRST_COMPLETED)
        if serving not in done:  # the producer connected, or failed for good
            error = connecting.exception()
            if error is not None:
                serving.cancel()
                raise error
        await serving
        return 0
    except Fatal as error:
        log.critical("the KPI process cannot go on", reason=str(error), exit_code=error.exit_code)
        return error.exit_code
    finally:
        await runtime.stop()
        await producer.stop()


def _run() -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.worker.kpi_child")
    parser.add_argument("--parent-pid", type=int, default=os.getppid())
    args = parser.parse_args()
    try:
        if not die_with_parent(args.parent_pid):
            watch_parent(args.parent_pid)
    except Orphaned as error:
        print(f"kpi process: {error}; exiting", file=sys.stderr)
        return EXIT_ORPHANED
    # Frames go out on the original stdout; fd 1 becomes stderr for everything else.
    frames_out = os.dup(1)
    os.dup2(2, 1)
    try:
        return asyncio.run(main(frames_out))
    except Exception:
        log.exception("the KPI process failed")
        return EXIT_SOFTWARE


if __name__ == "__main__":
    sys.exit(_run())
