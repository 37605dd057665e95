"""Timing of a restart's replay, with and without the heap guard (not collected by pytest).

Run: `.venv/bin/python -m tests.unit.core.bench_restore [plain|freeze]`. Feeds 200k
simulated events, dumps the checkpoint blobs, restores an engine from them and
replays 200k more in batches of 10k (what `KpiState.restore` does), freezing the
surviving heap after the load and each batch with `freeze` (`HeapGuard.after_batch`).
Compare the two modes in one session: the machine is shared and noisy.
"""

from __future__ import annotations

import gc
import sys
import time

from streams.core.engine import KpiEngine
from streams.settings import KpiSettings
from streams.worker.heap import HeapGuard
from tests.unit.core.simlog import simulated_events


def main(mode: str) -> None:
    freeze = mode == "freeze"
    settings = KpiSettings()
    events = simulated_events(400_000, seed=7, locations=8, skus=300, days=30.0)
    head, tail = events[:200_000], events[200_000:]
    engine = KpiEngine(settings)
    for event in head:
        engine.add(event)
    blobs = [engine.dump_location(code) for code in engine.locations()]
    global_blob = engine.dump_global()
    del engine
    gc.collect()
    guard = HeapGuard(full_every=1e9)
    started = time.perf_counter()
    restored = KpiEngine.restore(settings, global_blob, blobs)
    if freeze:
        guard.after_batch()
    load = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(0, len(tail), 10_000):
        for event in tail[i : i + 10_000]:
            restored.add(event)
        if freeze:
            guard.after_batch()
    replay = time.perf_counter() - started
    print(f"{mode}: load {load:.2f}s, replay of {len(tail)} events {replay:.2f}s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "freeze")
