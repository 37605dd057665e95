"""The one place that touches faust's internals: batch consumption through its consumer.

faust-streaming is pinned to one version in pyproject.toml, and
tests/unit/worker/test_faust_seam.py fails loudly if an upgrade moves any private
attribute used here (`App._new_consumer`, `Consumer._drain_messages`,
`_wait_next_records`, `_acked`, `_read_offset`, `_stopped`, and the monitor's
`stream_inbound_time`).

Batch consumption keeps faust's consumer but skips its per-message stream path.

Faust's Fetcher service runs `Consumer._drain_messages` between rebalances: it
fetches record batches and hands every message, one by one, through the conductor,
the topic queue and the agent's stream. `install_bulk_drain` replaces that drain,
for one consumer, with a loop that hands each fetched record batch whole (a list of
aiokafka `ConsumerRecord`s) to `WorkerRuntime.handle`.

Faust keeps the rest: group membership, rebalancing (it still stops and restarts the
Fetcher around a rebalance, flow control, seeks to committed offsets) and offset
commits. A batch's offsets are marked acknowledged in faust's own bookkeeping only
after `handle` returns (Redis applied the batch, dead letters were sent), so faust's
periodic, revoke-time and shutdown commits never commit past what Redis holds.
`handle` runs shielded from the Fetcher's cancellation at a rebalance: a batch is
either applied and fed to the engine in full or not started. A batch whose `handle`
gives up (`streams.retry.Fatal`: the runtime is stopping the worker) is never marked
applied, and the drain fetches nothing more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import faust

from streams.retry import Fatal
from streams.worker.messages import Consumed


class BatchHandler(Protocol):
    """What the drain hands batches to (`WorkerRuntime`)."""

    def classify(self, messages: Sequence[Consumed]) -> Any: ...

    async def handle(self, messages: Sequence[Consumed], classified: Any) -> None: ...

    async def load(self) -> None:
        """Start what `handle` needs (idempotent; the first batch waits for it)."""

    async def write_snapshot(self) -> None:
        """The periodic tick (`BulkApp.tick_seconds`): status, snapshot, alerts."""


class BulkDrain:
    """The replacement for `Consumer._drain_messages` (bound to one faust consumer).

    Two batches overlap: batch N+1 is fetched and validated (pure CPU work) while
    batch N is in Redis; N+1 is applied only once N has been, so the order of
    applies, and of the offsets acknowledged, is the order of fetches.
    """

    def __init__(self, consumer: Any, handler: BatchHandler, fetch_timeout: float = 1.0) -> None:
        self.consumer = consumer
        self.handler = handler
        self.fetch_timeout = fetch_timeout
        self._inflight: asyncio.Future[None] | None = None
        self._gave_up = False  # a batch raised Fatal: fetch nothing more

    async def __call__(self, fetcher: Any) -> None:
        consumer = self.consumer
        consumer_stopped = consumer._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        # A batch started before the last rebalance may still be being applied.
        if not await self._settled():
            return
        while not (consumer_stopped() or fetcher_stopped()):
            records, _active = await consumer._wait_next_records(self.fetch_timeout)
            await asyncio.sleep(0)
            if not records or consumer.should_stop:
                continue
            # aiokafka's ConsumerRecords are `Consumed` messages already: no copy each.
            messages: list[Consumed] = [record for batch in records.values() for record in batch]
            if not messages:
                continue
            try:
                classified = self.handler.classify(messages)
            except Fatal:
                self._gave_up = True
                return
            if not await self._settled():
                return
            # Shielded below: a rebalance cancels the Fetcher, never a half-applied batch.
            self._inflight = asyncio.ensure_future(self._apply(messages, classified, records))

    async def _settled(self) -> bool:
        """`_settle`; False when the batch in flight gave up (the worker is stopping)."""
        if self._gave_up:
            return False
        try:
            await self._settle()
        except Fatal:
            self._gave_up = True  # logged by the runtime, which is stopping the worker
            return False
        return True

    async def _settle(self) -> None:
        """Wait for the batch in flight (if any) to be applied.

        Offsets reach Kafka through faust's periodic commit (`broker_commit_interval`),
        which commits what `mark_applied` acknowledged; committing here after every
        batch would stall the drain on a broker round trip each time.
        """
        if self._inflight is None:
            return
        inflight = self._inflight
        try:
            await asyncio.shield(inflight)
        finally:
            if inflight.done():
                self._inflight = None

    async def _apply(
        self, messages: Sequence[Consumed], classified: Any, records: Mapping[Any, Sequence[Any]]
    ) -> None:
        await self.handler.handle(messages, classified)
        mark_applied(self.consumer, records)
        note_processed(self.consumer, records)


def mark_applied(consumer: Any, records: Mapping[Any, Sequence[Any]]) -> None:
    """Acknowledge, in faust's bookkeeping, every offset of a batch Redis has applied.

    Offsets skipped between two batches of a partition (compaction, transaction
    markers) are acknowledged with them, as faust's drain does with its gap records.
    Offsets at or below the last one read are ignored (a redelivery after a seek).
    """
    for tp, batch in records.items():
        if not batch:
            continue
        first, last = batch[0].offset, batch[-1].offset
        read = consumer._read_offset[tp]
        start = first if read is None else read + 1
        if last < start:
            continue
        consumer._acked[tp].extend(range(start, last + 1))
        consumer._read_offset[tp] = last


def note_processed(consumer: Any, records: Mapping[Any, Sequence[Any]]) -> None:
    """Tell faust's stall detector that the batch's partitions are being processed.

    Faust's stream path stamps `monitor.stream_inbound_time` for every event; without
    it, the consumer logs "Stream has not started processing" errors for partitions
    that are in fact processed, batch by batch.
    """
    monitor = consumer.app.monitor
    if monitor is None:
        return
    now = time.monotonic()
    inbound = monitor.stream_inbound_time
    for tp in records:
        inbound[tp] = now


class BulkApp(faust.App):
    """A faust app whose consumer hands whole fetched batches to `runtime`."""

    runtime: BatchHandler | None = None
    tick_seconds: float = 1.0  # how often the runtime's `write_snapshot` runs
    _runtime_started = False

    def _new_consumer(self) -> Any:
        consumer = super()._new_consumer()
        if self.runtime is not None:
            install_bulk_drain(consumer, self.runtime)
        return consumer

    async def on_start(self) -> None:
        await super().on_start()
        if self.runtime is not None and not self._runtime_started:
            # Restore the KPI state and write snapshots while the consumer group forms:
            # faust starts app tasks and timers only after the first assignment, which
            # after a crash waits out the dead member's session
            # (`KPIMON_KAFKA__SESSION_TIMEOUT_SECONDS`).
            self._runtime_started = True
            self.add_future(self._run_runtime(self.runtime))

    async def on_stop(self) -> None:
        await super().on_stop()
        self._runtime_started = False  # a restarted app (futures cancelled) starts it again

    async def _run_runtime(self, runtime: BatchHandler) -> None:
        await runtime.load()
        while not self.should_stop:
            await self.sleep(self.tick_seconds)
            if not self.should_stop:
                await runtime.write_snapshot()


def install_bulk_drain(consumer: Any, handler: BatchHandler) -> BulkDrain:
    """Make `consumer`'s Fetcher run a `BulkDrain` instead of faust's per-message drain."""
    drain = BulkDrain(consumer, handler)
    consumer._drain_messages = drain
    return drain
