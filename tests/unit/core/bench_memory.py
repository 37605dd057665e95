"""Memory of the bucketed engine (not collected by pytest; issue 14's targets).

Run: `PYTHONPATH=. .venv/bin/python -m tests.unit.core.bench_memory [closed|history|both]`.

- `closed`: 2,000 existing SKU-locations (20 locations x 100 SKUs, a snapshot each),
  then 200,000 `inventory.adjusted` spread over 10 days and a tick that closes the last
  day. Reports the engine's growth per adjustment once its bucket has closed (target
  <= 48 B), by tracemalloc (Python heap of the engine) and by RSS.
- `history`: 2,000 SKU-locations with 30 days of history (each day per SKU-location: a
  snapshot, three adjustments, an order line, a dispatch line, half of them delivered),
  and the same without the orders and dispatches. Reports memory per SKU-location
  (what its orders of the window add, apart) and the size of the checkpoint blobs.

Events are decoded into the msgspec structs the worker feeds, before measuring; the
engine keeps no reference to them.
"""

from __future__ import annotations

import gc
import random
import sys
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.core.engine import KpiEngine
from streams.events.decode import Rejection, decode_event
from streams.settings import KpiSettings

DAY = 86400.0
START = datetime(2024, 3, 1, tzinfo=UTC).timestamp()


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def rss() -> int:
    """Resident set size of this process (bytes)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def decoded(bodies: Iterator[dict[str, Any]]) -> list[Any]:
    out = []
    for body in bodies:
        event = decode_event(orjson.dumps(body))
        assert not isinstance(event, Rejection), event
        out.append(event)
    return out


def snapshot(i: int, t: float, loc: str, sku: str, on_hand: float) -> dict[str, Any]:
    return {
        "event_id": f"s-{i}", "event_type": "inventory.snapshot", "occurred_at": iso(t),
        "sku": sku, "location": loc, "on_hand": on_hand, "on_order": 0.0, "in_transit": 5.0,
        "unit_cost": 12.5, "supplier_id": "SUP1",
    }  # fmt: skip


def adjustment(i: int, t: float, loc: str, sku: str, delta: float) -> dict[str, Any]:
    return {
        "event_id": f"a-{i}", "event_type": "inventory.adjusted", "occurred_at": iso(t),
        "sku": sku, "location": loc, "delta": delta, "reason": "pick",
    }  # fmt: skip


def tick(i: int, t: float, loc: str) -> dict[str, Any]:
    return {
        "event_id": f"t-{i}", "event_type": "shipment.delivered", "occurred_at": iso(t),
        "shipment_id": f"none-{i}", "order_id": f"none-{i}", "location": loc,
    }  # fmt: skip


def grid(locations: int, skus: int) -> list[tuple[str, str]]:
    return [(f"L{li:03d}", f"S{si:05d}") for li in range(locations) for si in range(skus)]


def measure_closed(adjustments: int = 200_000, days: int = 10, trace: bool = True) -> None:
    rng = random.Random(1)
    places = grid(20, 100)
    locations = sorted({loc for loc, _sku in places})
    warm = decoded(snapshot(i, START, loc, sku, 1e6) for i, (loc, sku) in enumerate(places))
    warm += decoded(tick(i, START + DAY, loc) for i, loc in enumerate(locations))
    step = days * DAY / adjustments
    bodies = (
        adjustment(i, START + DAY + i * step, *rng.choice(places), rng.choice([-1.0, 1.0]))
        for i in range(adjustments)
    )
    burst = decoded(bodies)
    end = START + (days + 2) * DAY
    burst += decoded(tick(10_000 + i, end, loc) for i, loc in enumerate(locations))
    engine = KpiEngine(KpiSettings())
    for event in warm:
        engine.add(event)
    engine.samples()
    gc.collect()
    if trace:
        tracemalloc.start()
    before_heap, before_rss = tracemalloc.get_traced_memory()[0], rss()
    t = time.perf_counter()
    for event in burst:
        engine.add(event)
    add_s = (time.perf_counter() - t) / len(burst)
    engine.samples()
    engine.prune()
    gc.collect()
    after_heap, after_rss = tracemalloc.get_traced_memory()[0], rss()
    tracemalloc.stop()
    blobs = sum(len(engine.dump_location(code)) for code in engine.locations())
    if trace:
        print(
            f"closed: {adjustments} adjustments on {len(places)} SKU-locations over {days} "
            f"days, all buckets closed; engine heap growth "
            f"{(after_heap - before_heap) / adjustments:.2f} B/event (tracemalloc; includes "
            f"the {days} new daily buckets of {len(locations)} locations); checkpoint blobs "
            f"{blobs / len(places):.0f} B per SKU-location"
        )
    else:
        print(
            f"closed, untraced: add {add_s * 1e6:.2f} us/event; process RSS growth "
            f"{(after_rss - before_rss) / adjustments:.2f} B/event"
        )


def history_events(
    places: list[tuple[str, str]], days: int, rng: random.Random, orders: bool = True
) -> list[Any]:
    """A day of history per SKU-location per day (see the module docstring), in time order."""
    bodies: list[dict[str, Any]] = []
    seq = 0
    for day in range(days):
        base = START + day * DAY
        for loc, sku in places:
            seq += 1
            times = sorted(rng.uniform(0, DAY) for _ in range(6))
            bodies.append(snapshot(seq, base + times[0], loc, sku, float(rng.randrange(50, 500))))
            for n in range(3):
                bodies.append(adjustment(seq * 10 + n, base + times[1 + n], loc, sku, -1.0))
            if not orders:
                continue
            order_id = f"O{seq}"
            bodies.append({
                "event_id": f"o-{seq}", "event_type": "order.placed",
                "occurred_at": iso(base + times[4]), "order_id": order_id, "location": loc,
                "customer_id": f"C{rng.randrange(500)}",
                "customer_tier": rng.choice(["strategic", "key", "standard"]),
                "channel": rng.choice(["web", "store"]), "region": rng.choice(["north", "south"]),
                "promised_at": iso(base + times[4] + 2 * DAY),
                "lines": [{"line_id": "1", "sku": sku, "quantity": 3.0, "unit_price": 20.0}],
            })  # fmt: skip
            bodies.append({
                "event_id": f"d-{seq}", "event_type": "shipment.dispatched",
                "occurred_at": iso(base + times[5]), "shipment_id": f"SH{seq}",
                "order_id": order_id, "location": loc,
                "lines": [{"line_id": "1", "sku": sku, "quantity": 3.0}],
                "expedited": False, "expedite_cost": 0.0,
            })  # fmt: skip
            if seq % 2:
                bodies.append({
                    "event_id": f"v-{seq}", "event_type": "shipment.delivered",
                    "occurred_at": iso(base + times[5] + 3600), "shipment_id": f"SH{seq}",
                    "order_id": order_id, "location": loc,
                })  # fmt: skip
    bodies.sort(key=lambda b: b["occurred_at"])
    return decoded(iter(bodies))


def measure_history(days: int = 30, orders: bool = True) -> None:
    rng = random.Random(2)
    places = grid(20, 100)
    events = history_events(places, days, rng, orders)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    engine = KpiEngine(KpiSettings())
    t = time.perf_counter()
    for event in events:
        engine.add(event)
    add_s = (time.perf_counter() - t) / len(events)
    t = time.perf_counter()
    engine.samples()
    samples_s = time.perf_counter() - t
    engine.prune()
    gc.collect()
    state = tracemalloc.get_traced_memory()[0] - before
    figures = sum(len(v) for v in engine._samples.values())  # the cached figures are in it
    tracemalloc.stop()
    blobs = sum(len(engine.dump_location(code)) for code in engine.locations())
    kind = f"{len(places) * days} orders placed" if orders else "inventory only"
    print(
        f"history: {len(places)} SKU-locations x {days} days ({len(events)} events, "
        f"{kind}); add {add_s * 1e6:.2f} us/event under tracemalloc, cold samples() "
        f"{samples_s:.2f}s"
    )
    print(
        f"  engine heap {state / len(places):.0f} B per SKU-location, its orders of the window "
        f"and the cached figures ({figures} samples) included (tracemalloc); checkpoint blobs "
        f"{blobs / len(places):.0f} B per SKU-location"
    )


def main(argv: list[str]) -> None:
    what = argv[0] if argv else "both"
    if what in ("closed", "both"):
        measure_closed()
        measure_closed(trace=False)
    if what in ("history", "both"):
        measure_history(orders=False)
        measure_history()


if __name__ == "__main__":
    main(sys.argv[1:])
