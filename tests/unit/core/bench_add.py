"""Timing of `KpiEngine.add()` and `samples()` on the benchmark log (not collected by pytest).

Run: `PYTHONPATH=. .venv/bin/python -m tests.unit.core.bench_add [events] [locations] [skus]
[pydantic]` (defaults 120000 600 100: 60k SKU-locations, about 2 events each; with
`pydantic`, events are the pydantic models instead of the msgspec structs).

The records of `bench.events.generate` are decoded first and `gc.freeze()` keeps
the collector off the decoded events (the worker drops them after `add()`). For
each collector mode a fresh engine gets every event (wall time per `add()`), then
a cold `samples()` over the whole state; then one more second of events (40k,
later in event time) and `samples()` again, the steady state of a worker. Modes:
`off` (collector disabled), `on` (CPython defaults) and `worker` (like
`streams.worker.heap`: young threshold 20000, `gc.freeze()` after each batch of
2000 events and after `samples()`).
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Sequence
from typing import Any

from bench.events import generate
from streams.core.engine import KpiEngine
from streams.events.decode import decode_event, decode_event_pydantic
from streams.settings import KpiSettings

BATCH = 2000
MODES = ("off", "on", "worker")


def feed(engine: KpiEngine, events: Sequence[Any], mode: str) -> float:
    """Add every event; seconds per `add()`."""
    add = engine.add
    t = time.perf_counter()
    if mode == "worker":
        for i in range(0, len(events), BATCH):
            for event in events[i : i + BATCH]:
                add(event)
            gc.freeze()
    else:
        for event in events:
            add(event)
    return (time.perf_counter() - t) / len(events)


def read(engine: KpiEngine, mode: str) -> float:
    """Seconds of one `samples()`."""
    t = time.perf_counter()
    engine.samples()
    elapsed = time.perf_counter() - t
    if mode == "worker":
        gc.freeze()
    return elapsed


def run(events: Sequence[Any], more: Sequence[Any], mode: str) -> tuple[float, ...]:
    """`(add s/event, cold samples() s, steady add s/event, steady samples() s)` in `mode`."""
    gc.collect()
    gc.freeze()
    if mode == "off":
        gc.disable()
    if mode == "worker":
        gc.set_threshold(20_000, 10, 10)
    engine = KpiEngine(KpiSettings())
    cold = feed(engine, events, mode), read(engine, mode)
    steady = feed(engine, more, mode), read(engine, mode)
    gc.set_threshold(700, 10, 10)
    gc.enable()
    del engine
    gc.unfreeze()
    gc.collect()
    return (*cold, *steady)


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 120_000
    locations = int(argv[1]) if len(argv) > 1 else 600
    skus = int(argv[2]) if len(argv) > 2 else 100
    decode = decode_event_pydantic if "pydantic" in argv[3:] else decode_event
    now = time.time()
    records = generate(n, locations, skus, now - 3 * 86400, now - 60)
    events = [decode(r.value, topic=r.topic) for r in records]
    later = generate(40_000, locations, skus, now - 60, now - 20, seed=8, tag="c")
    more = [decode(r.value, topic=r.topic) for r in later]
    kind = type(events[0]).__module__
    print(f"{len(events)} events ({kind}), {locations * skus} SKU-locations at most")
    for mode in MODES * 2:
        add_s, cold_s, steady_add_s, steady_s = run(events, more, mode)
        print(
            f"gc {mode:6}: add {add_s * 1e6:5.2f} us/event, cold samples() {cold_s:5.2f}s | "
            f"+{len(more)} events: add {steady_add_s * 1e6:5.2f} us/event, "
            f"samples() {steady_s:5.2f}s"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
