"""BulkApp starts its runtime when the app starts, not after the first partition assignment."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from streams.worker.faust_bulk import BulkApp


class RecordingRuntime:
    """A runtime that records what the app asked of it."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def classify(self, messages: Sequence[Any]) -> Any:
        return None

    async def handle(self, messages: Sequence[Any], classified: Any) -> None:
        self.calls.append("handle")

    async def load(self) -> None:
        self.calls.append("load")

    async def write_snapshot(self) -> None:
        self.calls.append("tick")


def test_on_start_loads_then_ticks_without_any_assignment() -> None:
    """on_start (before the consumer group forms) loads the runtime, then ticks it, once."""

    async def scenario() -> tuple[list[str], int]:
        app = BulkApp("bulk-start-test", broker="kafka://127.0.0.1:1", web_enabled=False)
        runtime = RecordingRuntime()
        app.runtime = runtime
        app.tick_seconds = 0.01
        before = len(app._futures)
        await app.on_start()
        await app.on_start()  # faust calls it again on a restart: still one loop
        loops = len(app._futures) - before
        for _ in range(500):  # up to 5 s for two ticks
            if runtime.calls.count("tick") >= 2:
                break
            await asyncio.sleep(0.01)
        app._stopped.set()  # mode's stop flag: ends the loop (no broker to stop)
        for future in list(app._futures):
            future.cancel()
        await asyncio.sleep(0)
        return runtime.calls, loops

    calls, loops = asyncio.run(scenario())
    assert loops == 1
    assert calls[0] == "load" and calls.count("load") == 1
    assert calls.count("tick") >= 2
    assert "handle" not in calls
