"""One batch through the worker: validate, dead-letter, store.

The order of the steps is the delivery guarantee:
1. rejected messages reach the dead-letter topic (acknowledged by the broker);
2. the batch is applied to Redis in one atomic step, which skips offsets
   already applied and event_ids already stored, and records the offsets; an
   event_id stored before with another payload (a conflict, known only there)
   waits in Redis for the dead-letter topic, and is sent and forgotten next;
3. only the events stored for the first time are handed on, to the KPI side
   (`streams.worker.kpi.side`, by the worker).
Kafka offsets are committed after the batch returns, so a crash anywhere
redelivers the batch and step 2 makes that redelivery change nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

import structlog

from streams.events.decode import Rejection
from streams.events.limits import Limits
from streams.events.wire import Event
from streams.kafka.topics import TopicNames
from streams.store.redis_store import CONFLICT, Conflict, DedupLayout, KpiStore
from streams.worker.dead_letters import DeadLetterSink
from streams.worker.messages import Classified, Consumed, classify

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class BatchResult:
    messages: int
    fresh: list[Event]  # the events stored for the first time, in batch order
    payloads: list[bytes]  # their message values
    rejected: int
    entry: str = ""  # the log entry that holds them ('' when none is new)


class IngestPipeline:
    def __init__(
        self,
        store: KpiStore,
        dead_letters: DeadLetterSink,
        names: TopicNames,
        limits: Limits,
        clock: Callable[[], float] = time.time,
        dedup: DedupLayout | None = None,
    ) -> None:
        """`dedup`: how long ids are remembered behind the latest event day (older events
        are late)."""
        self.store = store
        self._dead_letters = dead_letters
        self._names = names
        self._limits = limits
        self._clock = clock
        self._dedup = dedup or DedupLayout()
        self._oldest_day: int | None = None  # events of days before are too old to dedup
        # Highest offset handled per (full topic, partition), for consumer lag.
        self.positions: dict[tuple[str, int], int] = {}

    async def start(self) -> None:
        """Before the first batch: bring the store to this layout (an upgrade)."""
        await self.store.prepare()
        self._oldest_day = self._dedup.oldest_day(await self.store.dedup_clock())
        pending = await self.store.pending_conflicts()
        if pending:
            # Their batch was applied but not committed: redelivered, they are sent.
            log.warning("conflicting duplicates wait for their redelivery", count=pending)

    def classify(self, messages: Sequence[Consumed]) -> Classified:
        """Validate a batch (pure CPU work: the bulk path overlaps it with the previous
        batch's Redis round trip). The clock is read once per batch (clock skew)."""
        return classify(messages, self._names, self._limits, self._clock(), self._oldest_day)

    async def process(
        self, messages: Sequence[Consumed], classified: Classified | None = None
    ) -> BatchResult:
        """Dead-letter the rejects, store the batch; returns the events new to the store.

        `classified` is `self.classify(messages)` when the caller already has it.
        """
        if classified is None:
            classified = self.classify(messages)
        rejected = [
            (message, outcome)
            for message, outcome in zip(messages, classified.outcomes, strict=True)
            if isinstance(outcome, Rejection)
        ]
        if rejected:
            await self._dead_letter(rejected)
        outcome = await self.store.apply_batch(classified.records)
        self._oldest_day = self._dedup.oldest_day(outcome.clock)
        fresh_positions = outcome.fresh
        if outcome.conflicts:
            await self._dead_letter_conflicts(messages, classified, outcome.conflicts)
        outcomes = classified.outcomes
        # The store returns positions of valid events only: never a Rejection.
        fresh = cast(list[Event], [outcomes[position] for position in fresh_positions])
        records = classified.records
        payloads = [records[position].payload for position in fresh_positions]
        last: dict[tuple[str, int], int] = {}
        for message in messages:  # offsets increase within a partition: the last is highest
            last[(message.topic, message.partition)] = message.offset
        for key, offset in last.items():
            if offset > self.positions.get(key, -1):
                self.positions[key] = offset
        return BatchResult(
            len(messages), fresh, payloads, len(rejected) + len(outcome.conflicts), outcome.entry
        )

    async def _dead_letter_conflicts(
        self, messages: Sequence[Consumed], classified: Classified, conflicts: Sequence[Conflict]
    ) -> None:
        """Send the store's conflicting duplicates to the dead-letter topic, then forget them.

        The store keeps each as pending until this returns (at least once, like
        every dead letter: a crash in between redelivers the batch, and the store
        reports them again).
        """
        rejected = [
            (
                messages[c.position],
                Rejection(
                    CONFLICT,
                    f"event_id: {classified.records[c.position].event_id!r} was stored with "
                    f"another payload (digest {c.stored_digest or 'unknown'}, this one "
                    f"{classified.records[c.position].digest})",
                ),
            )
            for c in conflicts
        ]
        await self._dead_letter(rejected)
        await self.store.forget_conflicts([classified.records[c.position] for c in conflicts])

    async def _dead_letter(self, rejected: Sequence[tuple[Consumed, Rejection]]) -> None:
        """Send to the dead-letter topic (acknowledged by the broker), and say so."""
        await self._dead_letters.send_all(rejected)
        for message, rejection in rejected:
            log.warning(
                "message dead-lettered",
                topic=message.topic,
                partition=message.partition,
                offset=message.offset,
                reason=rejection.reason,
                detail=rejection.detail,
            )
