"""The KPI process: `KpiRuntime` fed by the worker over a pipe (see `process`).

Run by the worker as `python -m streams.worker.kpi.child --parent-pid PID`: frames
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
import os
import pickle
import sys
from typing import Any

import structlog

from streams.kafka.client import aiokafka_config
from streams.kafka.topics import TopicNames
from streams.logs import configure_logging
from streams.retry import EXIT_SOFTWARE, Backoff, Fatal, retry
from streams.settings import Settings
from streams.store.redis_store import store_from
from streams.worker.faults import worker_verdict
from streams.worker.kpi.frames import (
    Computed,
    Fed,
    Feed,
    Frame,
    Prune,
    Ready,
    Reload,
    Reloaded,
    Start,
    Tick,
    encode_frame,
    read_to_child,
)
from streams.worker.kpi.lifetime import EXIT_ORPHANED, Orphaned, die_with_parent, watch_parent
from streams.worker.kpi.runtime import KpiRuntime
from streams.worker.kpi.sink import RelaySink

log = structlog.get_logger(__name__)

# Between two connection attempts of the alert producer.
PRODUCER_BACKOFF = Backoff(initial_seconds=0.5, max_seconds=30.0)
PRODUCER_STOP_SECONDS = 5.0


class KpiChild:
    """Serves the worker's frames in order; computes on ticks without holding up feeds."""

    def __init__(self, runtime: KpiRuntime, sink: RelaySink, out_fd: int) -> None:
        self.runtime = runtime
        self.sink = sink
        self._out = out_fd
        self._computing: asyncio.Task[None] | None = None

    def send(self, frame: Frame) -> None:
        data = encode_frame(frame)
        while data:  # small frames; a blocking write is fine
            written = os.write(self._out, data)
            data = data[written:]

    async def serve(self, frames: asyncio.StreamReader) -> None:
        while True:
            try:
                frame = await read_to_child(frames)
            except asyncio.IncompleteReadError:
                return  # the worker closed the pipe
            if isinstance(frame, Feed):
                await self.runtime.feed(
                    frame.payloads, frame.entry, frame.stored_at, frame.catching_up
                )
                counts, total = self.sink.take_lag()  # this batch's: the worker adds it
                self.send(Fed(counts, total))
            elif isinstance(frame, Tick):
                if self._computing is None or self._computing.done():
                    self._computing = asyncio.create_task(self.compute(frame.lag))
            elif isinstance(frame, Reload):
                await self.runtime.reload()
                self.send(Reloaded())
            elif isinstance(frame, Prune):
                self.runtime.prune()
            else:
                log.error("unexpected frame from the worker", frame=type(frame).__name__)

    async def compute(self, lag: int) -> None:
        await self.runtime.compute(lag)
        seconds = self.sink.take_snapshot_seconds()
        if seconds:
            self.send(Computed(seconds))


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
    first = await read_to_child(frames)
    if not isinstance(first, Start):
        raise SystemExit(f"expected the Start frame first, got {type(first).__name__}")
    settings: Settings = pickle.loads(first.settings)
    configure_logging(settings)
    producer = AlertProducer(settings)
    producer.start()
    store = store_from(settings)
    sink = RelaySink()
    # fork=True: checkpoints are written by a forked copy (streams.worker.kpi.checkpointing).
    runtime = KpiRuntime(settings, store, sink, producer.send, fork=True)
    child = KpiChild(runtime, sink, out_fd)
    try:
        await runtime.start()
        child.send(Ready())
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
    parser = argparse.ArgumentParser(prog="python -m streams.worker.kpi.child")
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
