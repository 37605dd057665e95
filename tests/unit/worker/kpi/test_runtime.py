"""The KPI runtime against an in-memory store: feeds, snapshots, checkpoints, restarts.

The orchestration alone (no Kafka, no Redis, no child process): what the worker
feeds reaches the engine once, snapshots reflect it, checkpoints cover what was
fed and let the log be trimmed, and a runtime restored from checkpoint + log
holds exactly the figures of the one that never stopped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from alerts.evaluator import Evaluation
from streams.settings import KpiSettings, Settings, StateSettings
from streams.simulate.config import SimulationConfig
from streams.simulate.generator import generate
from streams.store.snapshot import decode_snapshot
from streams.worker.kpi.runtime import KpiRuntime
from streams.worker.kpi.sink import RelaySink
from tests.unit.worker.memory_store import MemoryStore

START = datetime(2026, 3, 1, tzinfo=UTC)


class Alerts:
    """Stands in for the alert rules: records what it was asked to evaluate."""

    def __init__(self) -> None:
        self.locations: list[str] = []

    async def start(self) -> None:
        return None

    async def process(self, source: Any, locations: Iterable[str], dispatches: Any = ()) -> Any:
        self.locations.extend(locations)
        return Evaluation(states={}, changes=[], transitions=[])

    async def stop(self) -> None:
        return None


def settings(interval: float = 3600.0, log_events: int = 10**9) -> Settings:
    return Settings(
        kpi=KpiSettings(snapshot_interval_seconds=0.001),
        state=StateSettings(checkpoint_interval_seconds=interval, checkpoint_log_events=log_events),
    )


def runtime(store: MemoryStore, config: Settings) -> KpiRuntime:
    return KpiRuntime(config, store, RelaySink(), fork=False, alerts=lambda _on_result: Alerts())


def batches(events: int = 1500, size: int = 200) -> list[list[bytes]]:
    """Simulator events as the worker would feed them, in batches."""
    config = SimulationConfig(seed=4, locations=3, skus=12, start=START, events=events)
    payloads = [orjson.dumps(event) for event in generate(config)]
    return [payloads[i : i + size] for i in range(0, len(payloads), size)]


async def feed(run: KpiRuntime, store: MemoryStore, chunks: list[list[bytes]]) -> None:
    for payloads in chunks:
        entry = store.append(payloads)
        await run.feed(payloads, entry, START.timestamp(), catching_up=False)


def figures(run: KpiRuntime) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, s.labels): s.value for s in run.engine.samples()}


def test_a_fed_batch_reaches_the_snapshot_once() -> None:
    """Events fed are counted once in the engine and the snapshot says how many it reflects."""
    store = MemoryStore()
    chunks = batches()

    async def scenario() -> None:
        run = runtime(store, settings())
        await run.start()
        await feed(run, store, chunks)
        await run.compute(0)
        assert store.snapshot is not None
        assert decode_snapshot(store.snapshot).events == sum(len(c) for c in chunks)

    asyncio.run(scenario())


def test_a_checkpoint_covers_what_was_fed_and_the_log_is_trimmed_to_it() -> None:
    """Once due, a checkpoint is written as of the last fed entry and the log up to it goes."""
    store = MemoryStore()
    chunks = batches()

    async def scenario() -> None:
        run = runtime(store, settings(log_events=500))
        await run.start()
        await feed(run, store, chunks[:4])
        fed_upto = store.log[-1].entry
        await run.compute(0)  # starts the checkpoint (inline here)
        await run.compute(0)  # sees it done: trims
        assert store.checkpoint.applied == fed_upto
        assert store.checkpoint.locations  # every location with events
        assert store.log == []

    asyncio.run(scenario())


@pytest.mark.parametrize("checkpoint_after", [0, 1, 3, 7])
def test_a_restart_from_checkpoint_and_log_holds_the_figures_of_no_restart(
    checkpoint_after: int,
) -> None:
    """Restored from a checkpoint taken after k batches plus the log after it: same figures."""
    chunks = batches()
    store = MemoryStore()

    async def scenario() -> None:
        live = runtime(store, settings(log_events=10**9))
        await live.start()
        await feed(live, store, chunks[:checkpoint_after])
        if checkpoint_after:
            live.state.checkpoint()
            await live.state.tick()  # done inline: trims the log it covers
        await feed(live, store, chunks[checkpoint_after:])
        restored = runtime(store, settings())
        await restored.start()
        assert figures(restored) == figures(live)
        assert restored.engine.late_totals() == live.engine.late_totals()
        assert restored.state.applied == live.state.applied
        assert restored.events_fed == live.events_fed == sum(len(c) for c in chunks)

    asyncio.run(scenario())


def test_a_failed_checkpoint_writes_its_locations_with_the_next_one() -> None:
    """Locations taken for a checkpoint that failed are not lost to the next checkpoint."""
    store = MemoryStore()
    chunks = batches()
    failures = [RuntimeError("redis went away")]
    real = store.checkpoint_writer

    def flaky():  # type: ignore[no-untyped-def]
        write = real()

        def maybe(
            applied: str, global_blob: bytes | None, blobs: dict[str, bytes], events: int
        ) -> int:
            if failures:
                raise failures.pop()
            return write(applied, global_blob, blobs, events)  # type: ignore[no-any-return]

        return maybe

    store.checkpoint_writer = flaky  # type: ignore[method-assign]

    async def scenario() -> None:
        run = runtime(store, settings())
        await run.start()
        await feed(run, store, chunks[:3])
        run.state.checkpoint()
        await run.state.tick()  # sees it failed
        assert store.checkpoint.applied is None and store.log
        await feed(run, store, chunks[3:4])
        run.state.checkpoint()
        await run.state.tick()
        assert set(store.checkpoint.locations) == set(run.engine.locations())
        restored = runtime(store, settings())
        await restored.start()
        assert figures(restored) == figures(run)

    asyncio.run(scenario())


def test_a_store_with_only_a_log_is_replayed_once_then_checkpointed() -> None:
    """The upgrade path: no checkpoint yet, the whole log replays, and the next one covers it."""
    store = MemoryStore()
    chunks = batches()
    for payloads in chunks:
        store.append(payloads)

    async def scenario() -> None:
        run = runtime(store, settings(log_events=1))
        await run.start()
        assert run.events_fed == sum(len(c) for c in chunks)
        await run.compute(0)
        await run.compute(0)
        assert store.checkpoint.applied == f"{len(chunks)}-0"
        assert store.log == []

    asyncio.run(scenario())


def test_restore_hands_the_heap_back_after_the_load_and_each_replayed_entry() -> None:
    """Restore calls `after_batch` (the heap guard's freeze) once the checkpoint is loaded
    and after every log entry it replays, so replay does not rescan the growing state."""
    chunks = batches()
    store = MemoryStore()

    async def scenario() -> None:
        live = runtime(store, settings())
        await live.start()
        await feed(live, store, chunks[:2])
        live.state.checkpoint()
        await live.state.tick()  # done inline: trims the log it covers
        await feed(live, store, chunks[2:])
        calls: list[int] = []
        restored = runtime(store, settings())
        replayed = await restored.state.restore(lambda: calls.append(1))
        assert replayed == sum(len(c) for c in chunks[2:])
        assert len(calls) == 1 + len(chunks[2:])

    asyncio.run(scenario())
