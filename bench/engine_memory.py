"""Where the KPI engine's memory goes, by structure (in this process; no broker, no Redis).

    python -m bench.engine_memory --locations 10 --skus 100 --days 30 --density 10
    python -m bench.engine_memory --locations 20 --skus 50 --days 25 --growth 50000

Feeds the benchmark's history (`bench.history`: the same mix, in event-time
order) into a `KpiEngine`, decoded as the KPI process decodes stored payloads,
then one closing event per location (every history bucket closed, as the
benchmark measures) and a full refresh of the figures. Reports the traced
Python memory (tracemalloc), the checkpoint blobs' size and the time to dump
and restore them, and the deep size of the state by attribute path, each object
counted once (for the first path that reaches it, in the order printed). What
the KPI process holds beyond this is allocator slack, the interpreter and its
libraries (the empty KPI process is ~60 MB), and the raw events of open buckets.

`--growth N` then adds N inventory adjustments on the same SKU-locations over two
new days, closes them, and does it again over the next two: bytes per added event
that stay (tracemalloc), per pass; the first pass also rebuilds cached figures.
The process's RSS per added event is the benchmark's (`--history --growth`),
through the real worker.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterable
from itertools import chain
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType
from typing import Any

from bench.history import DAY, GROWTH_DAYS, Tally, adjustments, closing, history

_OPAQUE = (type, ModuleType, FunctionType, BuiltinFunctionType, MethodType)


def deep_size(root: Any, seen: set[int]) -> int:
    """Bytes of `root` and everything it reaches that is not in `seen` (then added)."""
    total = 0
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _OPAQUE):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


def attributes(obj: Any) -> Iterable[tuple[str, Any]]:
    names = getattr(obj, "__dict__", None)
    if names is not None:
        yield from names.items()
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if hasattr(obj, name):
                yield name, getattr(obj, name)


def breakdown(engine: Any) -> Counter[str]:
    """Deep sizes by path: the location states by attribute (SKU-locations and the
    service book one level further), then the engine's caches and the rest."""
    sizes: Counter[str] = Counter()
    seen: set[int] = {id(engine)}
    states = list(engine._locations.values())
    shared = [s.ctx for s in states if getattr(s, "ctx", None) is not None]
    seen.update(id(c) for c in shared)
    for state in states:
        seen.add(id(state))
        sizes["LocationState (objects)"] += sys.getsizeof(state) + sys.getsizeof(state.__dict__)
        seen.add(id(state.__dict__))
        for name, value in attributes(state):
            if name == "ctx":
                continue
            if name == "skus":
                sizes["skus (dict)"] += deep_size_shallow(value, seen)
                for sl in value.values():
                    seen.add(id(sl))
                    sizes["skus.SkuLocation (objects)"] += sys.getsizeof(sl)
                    if hasattr(sl, "__dict__"):
                        seen.add(id(sl.__dict__))
                        sizes["skus.SkuLocation (objects)"] += sys.getsizeof(sl.__dict__)
                    for attr, part in attributes(sl):
                        sizes[f"skus.{attr}"] += deep_size(part, seen)
            elif name == "book":
                seen.add(id(value))
                for attr, part in attributes(value):
                    sizes[f"book.{attr}"] += deep_size(part, seen)
            else:
                sizes[name] += deep_size(value, seen)
    for name in ("_figures", "_samples"):
        sizes[f"engine.{name} (computed figures cache)"] += deep_size(getattr(engine, name), seen)
    sizes["engine (rest)"] += deep_size(engine, seen - {id(engine)})
    return sizes


def deep_size_shallow(container: dict[Any, Any], seen: set[int]) -> int:
    """The dict and its keys, not its values."""
    seen.add(id(container))
    return sys.getsizeof(container) + sum(deep_size(key, seen) for key in container)


def growth(
    engine: Any, decode: Any, locations: range, skus: int, count: int, first: float, number: int
) -> None:
    """One growth pass: `count` adjustments over two days from `first`, then closed."""
    tally = Tally()
    records = chain(
        adjustments(locations, skus, count, first + 1800, first + GROWTH_DAYS * DAY, tally,
                    seed=17 + number, tag=f"g{number}"),
        closing(locations, first + GROWTH_DAYS * DAY + 900, tally, f"gc{number}"),
    )  # fmt: skip
    events = [decode(record.value, topic=record.topic) for record in records]
    gc.collect()
    tracemalloc.start()
    for event in events:
        engine.add(event)
    engine.refresh(engine.changed_locations())
    del events
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    print(
        f"growth pass {number + 1}: {count:,} adjustments over {GROWTH_DAYS} days, closed: "
        f"kept {kept / count:,.0f} B per event (tracemalloc; includes the refreshed figures)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.engine_memory", description=__doc__)
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--skus", type=int, default=100)
    parser.add_argument("--days", type=float, default=30.0)
    parser.add_argument("--density", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--growth", type=int, default=0, help="adjustments per growth pass")
    args = parser.parse_args(argv)

    from streams.core.engine import KpiEngine
    from streams.events.decode import decode_event
    from streams.settings import Settings

    settings = Settings().kpi
    now = time.time()
    end = now - now % DAY - 5 * DAY
    start = end - args.days * DAY
    locations = range(args.locations)
    sku_locations = args.locations * args.skus
    tally = Tally()
    tracemalloc.start()
    engine = KpiEngine(settings)
    clock = time.perf_counter()
    feeding = 0.0
    records = chain(
        history(locations, args.skus, start, end, args.density, tally),
        closing(locations, end + 900, tally, "c"),
    )
    for record in records:
        event = decode_event(record.value, topic=record.topic)
        started = time.perf_counter()
        engine.add(event)
        feeding += time.perf_counter() - started
    fed = time.perf_counter() - clock
    engine.refresh(engine.changed_locations())
    gc.collect()
    traced, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    events = tally.total
    print(
        f"{events:,} events ({args.days:g} days x {sku_locations:,} SKU-locations x "
        f"{args.density:g}/day, mix {tally.mix()}; {tally.lines:,} order lines) fed in "
        f"{fed:.1f}s (engine.add {feeding / events * 1e6:.1f} us/event)"
    )
    print(
        f"traced Python memory {traced / 1e6:,.1f} MB (peak {peak / 1e6:,.1f} MB) = "
        f"{traced / sku_locations:,.0f} B per SKU-location, {traced / events:,.0f} B per event"
    )
    clock = time.perf_counter()
    blobs = [engine.dump_location(code) for code in engine.locations()]
    dumped = time.perf_counter() - clock
    size = sum(map(len, blobs))
    clock = time.perf_counter()
    KpiEngine.restore(settings, engine.dump_global(), blobs)
    restored = time.perf_counter() - clock
    print(
        f"checkpoint {size / 1e6:,.1f} MB = {size / sku_locations:,.0f} B per SKU-location; "
        f"dump {dumped:.2f}s, restore {restored:.2f}s "
        f"({size / 1e6 / max(restored, 1e-9):,.1f} MB/s)"
    )
    if args.growth:
        for number in range(2):
            first = end + number * GROWTH_DAYS * DAY
            growth(engine, decode_event, locations, args.skus, args.growth, first, number)
    sizes = breakdown(engine)
    total = sum(sizes.values())
    print(f"deep size {total / 1e6:,.1f} MB by path (bytes per SKU-location, per event):")
    for name, value in sizes.most_common(args.top):
        print(
            f"  {value / 1e6:9,.1f} MB {value * 100 / total:5.1f}%  "
            f"{value / sku_locations:9,.0f} {value / events:7,.0f}  {name}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
