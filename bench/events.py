"""Realistic benchmark events as raw Kafka records (pure, deterministic per seed).

Orders, dispatches of earlier orders, inventory adjustments and snapshots over
`locations x skus` SKU-locations, in non-decreasing `occurred_at`, keyed by
location like `kpimon publish` keys them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

TIERS = ("strategic", "key", "standard")
CHANNELS = ("web", "store", "b2b")
REGIONS = ("north", "south", "east", "west")


@dataclass(frozen=True, slots=True)
class Record:
    topic: str  # unprefixed input topic
    key: bytes
    value: bytes
    at: float = 0.0  # occurred_at (epoch s), where the generator sets it


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def location_code(index: int) -> str:
    return f"L{index:04d}"


def sku_code(index: int) -> str:
    return f"S{index:05d}"


def generate(
    count: int,
    locations: int,
    skus: int,
    start: float,
    end: float,
    seed: int = 7,
    tag: str = "b",
) -> Iterator[Record]:
    """`count` events spread evenly in event time over [start, end]."""
    rng = random.Random(seed)
    step = (end - start) / max(count, 1)
    open_orders: list[tuple[str, str, list[tuple[str, str, float]]]] = []
    for i in range(count):
        t = start + i * step
        loc = location_code(rng.randrange(locations))
        draw = rng.random()
        event_id = f"{tag}-{i}"
        if draw < 0.10 or i < min(locations, count // 10):
            sku = sku_code(rng.randrange(skus))
            body = {
                "event_id": event_id,
                "event_type": "inventory.snapshot",
                "occurred_at": iso(t),
                "sku": sku,
                "location": loc,
                "on_hand": float(rng.randrange(0, 500)),
                "on_order": float(rng.randrange(0, 200)),
                "in_transit": float(rng.randrange(0, 100)),
                "unit_cost": round(rng.uniform(1, 80), 2),
                "sku_class": rng.choice("ABC"),
                "supplier_id": f"SUP{rng.randrange(40):03d}",
            }
            topic = "inventory"
        elif draw < 0.45:
            order_id = f"O{tag}{i}"
            lines = [
                (f"{order_id}-{n}", sku_code(rng.randrange(skus)), float(rng.randrange(1, 20)))
                for n in range(rng.choice((1, 1, 2, 3)))
            ]
            body = {
                "event_id": event_id,
                "event_type": "order.placed",
                "occurred_at": iso(t),
                "order_id": order_id,
                "location": loc,
                "customer_id": f"C{rng.randrange(5000)}",
                "customer_tier": rng.choice(TIERS),
                "channel": rng.choice(CHANNELS),
                "region": rng.choice(REGIONS),
                "promised_at": iso(t + rng.uniform(0.5, 3) * 86400),
                "lines": [
                    {"line_id": lid, "sku": sku, "quantity": q, "unit_price": 9.5}
                    for lid, sku, q in lines
                ],
            }
            open_orders.append((order_id, loc, lines))
            topic = "orders"
        elif draw < 0.75 and open_orders:
            order_id, order_loc, lines = open_orders.pop(rng.randrange(len(open_orders)))
            loc = order_loc
            expedited = rng.random() < 0.1
            body = {
                "event_id": event_id,
                "event_type": "shipment.dispatched",
                "occurred_at": iso(t),
                "shipment_id": f"SH{tag}{i}",
                "order_id": order_id,
                "location": loc,
                "lines": [{"line_id": lid, "sku": sku, "quantity": q} for lid, sku, q in lines],
                "expedited": expedited,
                "expedite_cost": 25.0 if expedited else 0.0,
            }
            topic = "shipments"
        else:
            body = {
                "event_id": event_id,
                "event_type": "inventory.adjusted",
                "occurred_at": iso(t),
                "sku": sku_code(rng.randrange(skus)),
                "location": loc,
                "delta": float(rng.randrange(-10, 10) or 1),
                "reason": rng.choice(("cycle count", "damage", "found")),
            }
            topic = "inventory"
        yield Record(topic, loc.encode(), orjson.dumps(body))
        if len(open_orders) > 5000:
            del open_orders[:1000]


def live_adjustment(index: int, location: str, sku: str, now: float, tag: str) -> Record:
    """A small event stamped with the wall clock, for the latency phase."""
    body = {
        "event_id": f"{tag}-live-{index}",
        "event_type": "inventory.adjusted",
        "occurred_at": iso(now),
        "sku": sku,
        "location": location,
        "delta": 1.0,
        "reason": "bench latency probe",
    }
    return Record("inventory", location.encode(), orjson.dumps(body))
