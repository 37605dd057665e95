"""The engine and how it outlives the process: restore, checkpoints, log trimming.

State = the last checkpoint (the engine's aggregates as of one log entry,
`streams.store.checkpoints`) + the log entries after it (`streams.store.log`).
`restore` loads the one and replays the other, so a restart costs the size of
the aggregates and of a few minutes of events, never the history (SPEC §4.1).
While running, a checkpoint is written every `state.checkpoint_interval_seconds`
(or sooner when the log grows past `state.checkpoint_log_events`) by a forked
copy of the process (`checkpointing`); once it is in Redis the log entries it
covers are trimmed.

A store written before checkpoints existed has its whole retention in the log:
the first start replays it once, checkpoints, and trims it (the upgrade path).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import structlog

from streams.core.engine import KpiEngine
from streams.events.decode import Rejection, decode_stored
from streams.events.wire import Event
from streams.settings import Settings
from streams.store.checkpoints import Checkpoint
from streams.store.log import LogBatch, entry_after
from streams.worker.kpi import checkpointing

log = structlog.get_logger(__name__)


def stored_event(payload: bytes) -> Event | None:
    """The event of a payload from the store; None (logged) if it no longer validates.

    Stored payloads were validated before they were stored: a rejection here means
    the contract changed under stored data. Ingest's other checks (repeated keys,
    bounds, the clock) are not repeated (`decode_stored`).
    """
    decoded = decode_stored(payload)
    if isinstance(decoded, Rejection):
        log.error("stored event no longer valid", reason=decoded.reason)
        return None
    return decoded


class StateStore(Protocol):
    """Where the state outlives the process (`streams.store.redis_store.RedisKpiStore`)."""

    async def read_checkpoint(self) -> Checkpoint: ...

    async def sweep_checkpoints(self) -> int: ...

    def read_log(self, after: str | None = None) -> AsyncIterator[LogBatch]: ...

    async def trim_log(self, upto: str) -> int: ...

    def checkpoint_writer(self) -> checkpointing.Write:
        """What writes one checkpoint, on a connection of its own (made in the process
        that writes: a forked copy must not share the live process's sockets)."""
        ...


def add_all(engine: KpiEngine, events: list[Event]) -> None:
    """Give events to the engine; one it cannot take is logged, never stops the stream."""
    add = engine.add
    for event in events:
        try:
            add(event)
        except Exception:  # stored, so nothing is lost; an engine bug must not stop us
            log.exception("engine rejected a stored event", event_id=event.event_id)


class EngineState:
    """The live engine, what it reflects of the log, and its checkpoints."""

    def __init__(self, settings: Settings, store: StateStore, fork: bool) -> None:
        self.settings = settings
        self.store = store
        self.engine = KpiEngine(settings.kpi)
        self.applied: str | None = None  # the last log entry the engine reflects
        self.events = 0  # events the engine reflects: all it was ever fed
        self._fork = fork
        self._checkpointed: str | None = None  # the entry the last checkpoint covers
        self._checkpointed_at = time.monotonic()
        self._since = 0  # events fed since the last checkpoint started
        self._pending: checkpointing.Pending | None = None
        self._unsaved: set[str] = set()  # locations of checkpoints that failed
        self._unsaved_global = False

    async def restore(self, after_batch: Callable[[], None] = lambda: None) -> int:
        """Load the checkpoint and replay the log after it; returns the events replayed.

        `after_batch` runs once the checkpoint is loaded and after each replayed log
        entry: the KPI process freezes the surviving heap there (`HeapGuard`), as after a
        fed batch, so the collector does not rescan the growing state (measured: replay
        about a fifth faster: `python -m tests.unit.core.bench_restore`).
        """
        started = time.monotonic()
        swept = await self.store.sweep_checkpoints()
        checkpoint = await self.store.read_checkpoint()
        if checkpoint.global_blob is None and not checkpoint.locations:
            engine = KpiEngine(self.settings.kpi)
        else:
            engine = KpiEngine.restore(
                self.settings.kpi, checkpoint.global_blob, checkpoint.locations.values()
            )
        after_batch()
        loaded = time.monotonic() - started
        replayed = 0
        applied = checkpoint.applied
        async for batch in self.store.read_log(checkpoint.applied):
            events = [e for e in map(stored_event, batch.payloads) if e is not None]
            add_all(engine, events)
            replayed += len(events)
            applied = batch.entry
            after_batch()
        self.engine = engine
        self.applied = applied
        self.events = checkpoint.events + replayed
        self._checkpointed = checkpoint.applied
        self._checkpointed_at = time.monotonic()
        self._since = replayed
        self._pending = None
        log.info(
            "engine restored",
            locations=len(checkpoint.locations),
            checkpoint=checkpoint.applied,
            load_seconds=round(loaded, 3),
            events_replayed=replayed,
            seconds=round(time.monotonic() - started, 3),
            orphans_swept=swept,
        )
        return replayed

    def fed(self, entry: str, events: int) -> None:
        """A batch from log entry `entry` ('' when none) went into the engine."""
        if entry:
            self.applied = entry
        self._since += events
        self.events += events

    @property
    def checkpoint_due(self) -> bool:
        state = self.settings.state
        if self._pending is not None or self.applied is None:
            return False
        if self._checkpointed is not None and not entry_after(self.applied, self._checkpointed):
            return False  # nothing new since the last one
        return (
            self._since >= state.checkpoint_log_events
            or time.monotonic() - self._checkpointed_at >= state.checkpoint_interval_seconds
        )

    async def tick(self) -> None:
        """Finish the checkpoint in flight (trim the log it covers), or start one when due."""
        if self._pending is not None:
            outcome = checkpointing.poll(self._pending)
            if outcome is None:
                return
            pending, self._pending = self._pending, None
            if not outcome:
                # Its locations were taken as saved: write them with the next one.
                self._unsaved |= pending.locations
                self._unsaved_global = self._unsaved_global or pending.global_changed
                log.warning("checkpoint failed; its locations go with the next one")
                return
            self._checkpointed = pending.applied
            trimmed = await self.store.trim_log(pending.applied)
            log.info(
                "checkpoint written",
                applied=pending.applied,
                locations=len(pending.locations),
                seconds=round(time.monotonic() - pending.started, 3),
                log_events_trimmed=trimmed,
            )
        if self.checkpoint_due:
            self.checkpoint()

    def checkpoint(self) -> None:
        """Start a checkpoint of what changed, as of the last fed log entry."""
        assert self.applied is not None
        codes, global_changed = self.engine.take_checkpoint_set()
        codes |= self._unsaved
        global_changed = global_changed or self._unsaved_global or self._checkpointed is None
        self._unsaved, self._unsaved_global = set(), False
        self._since = 0
        self._checkpointed_at = time.monotonic()
        self._pending = checkpointing.start(
            self.engine,
            self.applied,
            self.events,
            codes,
            global_changed,
            self.store.checkpoint_writer,
            self._fork,
        )
