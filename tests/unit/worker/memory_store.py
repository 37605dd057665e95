"""An in-memory store for unit tests of the KPI runtime (what Redis holds, in dicts)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from streams.store.checkpoints import Checkpoint
from streams.store.log import LogBatch, entry_after


@dataclass
class MemoryStore:
    """The runtime's view of Redis: the log, the checkpoint, the snapshot, counters.

    Checkpoints are written in process (the runtime must not fork for it: a forked
    copy would write into its own memory).
    """

    log: list[LogBatch] = field(default_factory=list)
    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    snapshot: bytes | None = None
    counters: dict[str, int] = field(default_factory=dict)
    writes: int = 0
    _next: int = 0

    def append(self, payloads: list[bytes]) -> str:
        """A batch the worker applied: its new log entry id."""
        self._next += 1
        entry = f"{self._next}-0"
        self.log.append(LogBatch(entry, list(payloads)))
        return entry

    async def read_checkpoint(self) -> Checkpoint:
        current = self.checkpoint
        return Checkpoint(
            current.applied, current.global_blob, dict(current.locations), current.events
        )

    async def sweep_checkpoints(self) -> int:
        return 0

    async def read_log(self, after: str | None = None) -> AsyncIterator[LogBatch]:
        for batch in list(self.log):
            if after is None or entry_after(batch.entry, after):
                yield batch

    async def trim_log(self, upto: str) -> int:
        kept = [b for b in self.log if entry_after(b.entry, upto)]
        dropped = sum(len(b.payloads) for b in self.log if b not in kept)
        self.log = kept
        return dropped

    def checkpoint_writer(self):  # type: ignore[no-untyped-def]
        def write(
            applied: str, global_blob: bytes | None, blobs: dict[str, bytes], events: int
        ) -> int:
            locations = {**self.checkpoint.locations, **blobs}
            kept_global = self.checkpoint.global_blob if global_blob is None else global_blob
            self.checkpoint = Checkpoint(applied, kept_global, locations, events)
            self.writes += 1
            return self.writes

        return write

    async def write_snapshot(self, payload: bytes) -> None:
        self.snapshot = payload

    async def increment_counter(self, field: str, amount: int = 1) -> None:
        self.counters[field] = self.counters.get(field, 0) + amount
