"""Where the worker's KPI side runs: in the worker process, or in a process of its own.

`WorkerRuntime` (ingest: validate, dead-letter, store) hands every applied batch
to a `KpiSide`. `LocalKpis` runs `KpiRuntime` in the worker's own event loop;
`streams.worker.kpi.process.KpiProcess` runs it in a child process, so the
engine's work and the ingest's work use two cores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from streams.worker.kpi.runtime import KpiRuntime


class KpiSide(Protocol):
    async def start(self) -> None:
        """Restore from Redis; returns once batches can be fed."""

    async def feed(
        self, payloads: Sequence[bytes], entry: str, stored_at: float, catching_up: bool
    ) -> None:
        """An applied batch: the payloads stored for the first time, the log entry holding
        them ('' when none), when the store had them (epoch s), whether behind."""

    async def reload(self) -> None:
        """Restore from Redis (after a batch whose apply failed, then succeeded)."""

    async def tick(self, lag: int) -> None:
        """The snapshot timer: `lag` messages are waiting."""

    async def prune(self) -> None:
        """The retention timer."""


class LocalKpis:
    """`KpiRuntime` in the worker process (its metrics sink: the worker's own metrics)."""

    def __init__(self, runtime: KpiRuntime) -> None:
        self.runtime = runtime

    async def start(self) -> None:
        await self.runtime.start()

    async def feed(
        self, payloads: Sequence[bytes], entry: str, stored_at: float, catching_up: bool
    ) -> None:
        await self.runtime.feed(payloads, entry, stored_at, catching_up)

    async def reload(self) -> None:
        await self.runtime.reload()

    async def tick(self, lag: int) -> None:
        await self.runtime.compute(lag)

    async def prune(self) -> None:
        self.runtime.prune()
