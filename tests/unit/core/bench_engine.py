"""Timing of the KPI engine on a simulated log (not collected by pytest).

Run: `.venv/bin/python -m tests.unit.core.bench_engine [events] [locations] [skus] [freeze]`.
Reports CPU time per `add()`, a cold `samples()` over the whole state, and the
steady state: `samples()` after each further second's worth of events. With
`freeze`, `gc.freeze()` runs after each `samples()` (what a worker can do so the
collector stops re-scanning the engine's long-lived state).
"""

from __future__ import annotations

import gc
import sys
import time

from streams.core.engine import KpiEngine
from streams.settings import KpiSettings
from tests.unit.core.simlog import simulated_events


def calibration() -> float:
    """CPU seconds of a fixed pure-Python loop (about 0.4 s on a typical 2020s laptop core)."""
    t = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - t


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 100_000
    locations = int(argv[1]) if len(argv) > 1 else 8
    skus = int(argv[2]) if len(argv) > 2 else 200
    freeze = "freeze" in argv[3:]
    rate = 40_000  # events per second the worker must sustain
    t = time.perf_counter()
    events = simulated_events(n + 3 * rate, seed=7, locations=locations, skus=skus, days=45.0)
    print(f"generated {len(events)} events in {time.perf_counter() - t:.1f}s")
    # The worker does not keep events after add(); keep the garbage collector off this list.
    gc.freeze()
    head, tail = events[:n], events[n:]
    engine = KpiEngine(KpiSettings())
    t = time.process_time()
    for i, event in enumerate(head):
        engine.add(event)
        if freeze and i % 20_000 == 0:
            gc.freeze()
    add_s = time.process_time() - t
    print(f"add: {add_s / len(head) * 1e6:.2f} us/event ({len(head)} events, {add_s:.2f}s CPU)")
    t = time.process_time()
    samples = engine.samples()
    print(f"cold samples(): {time.process_time() - t:.3f}s CPU, {len(samples)} samples")
    if freeze:
        gc.freeze()
    t = time.process_time()
    engine.sku_locations()
    engine.disruptions()
    print(f"views after samples(): {time.process_time() - t:.3f}s CPU")
    for second in range(3):
        batch = tail[second * rate : (second + 1) * rate]
        t = time.process_time()
        for event in batch:
            engine.add(event)
        add_s = time.process_time() - t
        t = time.process_time()
        engine.samples()
        engine.sku_locations()
        if freeze:
            gc.freeze()
        print(
            f"second {second + 1}: add {add_s / len(batch) * 1e6:.2f} us/event, "
            f"samples() {time.process_time() - t:.3f}s CPU"
        )
    t = time.process_time()
    dropped = engine.prune()
    print(f"prune(): {dropped} items in {time.process_time() - t:.3f}s CPU")
    print(f"calibration: 10M-iteration loop {calibration():.2f}s CPU on this machine")


if __name__ == "__main__":
    main(sys.argv[1:])
