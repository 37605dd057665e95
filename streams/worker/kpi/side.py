"""Where the worker's KPI side runs: in the worker process, or in a process of its own.

`WorkerRuntime` (ingest: validate, dead-letter, store) hands every applied batch
to a `KpiSide`. `LocalKpis` runs `KpiRuntime` in the worker's own event loop;
`streams.worker.kpi_process.KpiProcess` runs it in a child process, so the
engine's work and the ingest's work use two cores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from streams.events.wire import Event
from streams.worker import metrics
from streams.worker.kpi_runtime import KpiRuntime


class KpiSide(Protocol):
    async def start(self) -> None:
        """Rebuild from Redis; returns once batches can be fed."""

    async def feed(
        self,
        fresh: Sequence[Event],
        payloads: Sequence[bytes],
        stored_at: float,
        catching_up: bool,
    ) -> None:
        """The events of an applied batch stored for the first time (and their payloads)."""

    async def reload(self) -> None:
        """Rebuild from Redis (after a batch whose apply failed, then succeeded)."""

    async def tick(self, lag: int) -> None:
        """The snapshot timer: `lag` messages are waiting."""

    async def prune(self) -> None:
        """The retention timer."""


class LocalKpis:
    """`KpiRuntime` in the worker process."""

    def __init__(self, runtime: KpiRuntime) -> None:
        self.runtime = runtime

    async def start(self) -> None:
        await self.runtime.start()

    async def feed(
        self,
        fresh: Sequence[Event],
        payloads: Sequence[bytes],
        stored_at: float,
        catching_up: bool,
    ) -> None:
        await self.runtime.feed(fresh, stored_at, catching_up, metrics.EVENT_LAG)

    async def reload(self) -> None:
        await self.runtime.reload()

    async def tick(self, lag: int) -> None:
        await self.runtime.compute(lag)
        observe_snapshots(self.runtime.snapshot_seconds)

    async def prune(self) -> None:
        self.runtime.prune()


def observe_snapshots(seconds: list[float]) -> None:
    """Move snapshot computing times into the worker's histogram."""
    for value in seconds:
        metrics.SNAPSHOT_SECONDS.observe(value)
    seconds.clear()
