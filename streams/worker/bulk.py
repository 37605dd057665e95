"""Batch consumption that keeps faust's consumer but skips its per-message stream path.

Faust's Fetcher service runs `Consumer._drain_messages` between rebalances: it
fetches record batches and hands every message, one by one, through the conductor,
the topic queue and the agent's stream. `install_bulk_drain` replaces that drain,
for one consumer, with a loop that turns each fetched record batch into a list of
`RawMessage`s and hands it whole to `WorkerRuntime.handle`.

Faust keeps the rest: group membership, rebalancing (it still stops and restarts the
Fetcher around a rebalance, flow control, seeks to committed offsets) and offset
commits. A batch's offsets are marked acknowledged in faust's own bookkeeping only
after `handle` returns (Redis applied the batch, dead letters were sent), so faust's
periodic, revoke-time and shutdown commits never commit past what Redis holds.
`handle` runs shielded from the Fetcher's cancellation at a rebalance: a batch is
either applied and fed to the engine in full or not started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from streams.worker.messages import RawMessage

Handler = Callable[[list[RawMessage]], Coroutine[Any, Any, None]]


class BulkDrain:
    """The replacement for `Consumer._drain_messages` (bound to one faust consumer)."""

    def __init__(self, consumer: Any, handle: Handler, fetch_timeout: float = 1.0) -> None:
        self.consumer = consumer
        self.handle = handle
        self.fetch_timeout = fetch_timeout
        self._inflight: asyncio.Future[None] | None = None
        self.batches = 0

    async def __call__(self, fetcher: Any) -> None:
        consumer = self.consumer
        consumer_stopped = consumer._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        while not (consumer_stopped() or fetcher_stopped()):
            if self._inflight is not None and not self._inflight.done():
                # A batch started before the last rebalance is still being applied.
                await asyncio.shield(self._inflight)
            records, _active = await consumer._wait_next_records(self.fetch_timeout)
            await asyncio.sleep(0)
            if not records or consumer.should_stop:
                continue
            messages = [
                RawMessage(tp.topic, tp.partition, record.offset, record.key, record.value)
                for tp, batch in records.items()
                for record in batch
            ]
            if not messages:
                continue
            self._inflight = asyncio.ensure_future(self._apply(messages, records))
            await asyncio.shield(self._inflight)
            commit_every = consumer._commit_every
            if commit_every is not None and consumer._n_acked >= commit_every:
                consumer._n_acked = 0
                await consumer.commit()

    async def _apply(
        self, messages: list[RawMessage], records: Mapping[Any, Sequence[Any]]
    ) -> None:
        await self.handle(messages)
        self.batches += 1
        mark_applied(self.consumer, records)


def mark_applied(consumer: Any, records: Mapping[Any, Sequence[Any]]) -> None:
    """Acknowledge, in faust's bookkeeping, every offset of a batch Redis has applied.

    Offsets skipped between two batches of a partition (compaction, transaction
    markers) are acknowledged with them, as faust's drain does with its gap records.
    Offsets at or below the last one read are ignored (a redelivery after a seek).
    """
    acked_total = 0
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
        acked_total += last + 1 - start
    consumer._n_acked += acked_total


def install_bulk_drain(consumer: Any, handle: Handler) -> BulkDrain:
    """Make `consumer`'s Fetcher run a `BulkDrain` instead of faust's per-message drain."""
    drain = BulkDrain(consumer, handle)
    consumer._drain_messages = drain
    return drain
