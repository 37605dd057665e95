"""The KPI process: `KpiRuntime` fed by the worker over a pipe (see `kpi_process`).

Run by the worker as `python -m streams.worker.kpi_child`: frames come on stdin
and go back on the original stdout; anything else written to stdout goes to
stderr (the worker's log), so a stray print cannot corrupt a frame.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
from typing import Any

import structlog

from streams.kafka.client import aiokafka_config
from streams.kafka.topics import TopicNames
from streams.logs import configure_logging
from streams.settings import Settings
from streams.store.connection import async_client
from streams.store.redis_store import RedisKpiStore
from streams.worker.frames import encode_frame, read_frame
from streams.worker.kpi_runtime import KpiRuntime, retention_seconds, stored_event
from streams.worker.metrics import event_lag_histogram

log = structlog.get_logger(__name__)

PRODUCER_RETRY_MAX_SECONDS = 30.0


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


async def _alert_producer(settings: Settings) -> Any:
    from aiokafka import AIOKafkaProducer

    delay = 0.5
    while True:
        # acks=all, as faust's producer in the worker: an alert sent is on every replica.
        producer = AIOKafkaProducer(**aiokafka_config(settings.kafka), acks="all")
        try:
            await producer.start()
            return producer
        except Exception as error:  # aiokafka raises its own errors for a broker down
            await producer.stop()
            log.warning("kafka unavailable for alerts; retrying", error=str(error), delay=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, PRODUCER_RETRY_MAX_SECONDS)


async def main(out_fd: int) -> None:
    loop = asyncio.get_running_loop()
    frames = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(frames), sys.stdin.buffer)
    kind, pickled = await read_frame(frames)
    if kind != "settings":
        raise SystemExit(f"expected the settings frame first, got {kind!r}")
    settings: Settings = pickle.loads(pickled)
    configure_logging(settings)
    names = TopicNames(settings.kafka.topic_prefix)
    producer = await _alert_producer(settings)

    async def send_alert(key: bytes, value: bytes) -> None:
        await producer.send_and_wait(names.alerts, value=value, key=key)

    store = RedisKpiStore(
        async_client(settings.redis), settings.redis.key_prefix, retention_seconds(settings)
    )
    runtime = KpiRuntime(settings, store, send_alert)
    child = KpiChild(runtime, out_fd)
    try:
        await runtime.start()
        child.send("ready")
        await child.serve(frames)
    finally:
        await runtime.stop()
        await producer.stop()


if __name__ == "__main__":
    # Frames go out on the original stdout; fd 1 becomes stderr for everything else.
    frames_out = os.dup(1)
    os.dup2(2, 1)
    asyncio.run(main(frames_out))
