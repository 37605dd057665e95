"""A seeded, plausible event log built from the real models, for property tests and timing.

Every event type appears: orders (some cancelled) are dispatched in one or two
shipments and delivered, stock is counted by snapshots and moved by
adjustments (down to zero, so stockouts happen), receipts carry lead times,
daily forecasts are published and re-published, policies are recommended,
overridden and applied, and disruptions open and close. Event times advance
through `days` from `T0` with a little jitter, so the log is nearly but not
exactly in time order, like a real multi-topic feed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from streams.events import models as m
from tests.unit.core import factories as f


def simulated_events(
    n: int, seed: int = 0, locations: int = 4, skus: int = 40, days: float = 40.0
) -> list[m.Event]:
    """About `n` valid events over `days`, in nearly increasing time order."""
    rng = random.Random(seed)
    codes = [f"DC-{i:02d}" for i in range(locations)]
    catalogue = [f"SKU-{i:04d}" for i in range(skus)]
    supplier_of = {sku: f"SUP-{rng.randrange(5)}" for sku in catalogue}
    cost_of = {sku: round(rng.uniform(2, 80), 2) for sku in catalogue}
    on_hand = {(c, s): float(rng.randrange(20, 200)) for c in codes for s in catalogue}
    open_orders: list[tuple[str, str, list[tuple[str, str, float, float]]]] = []
    in_flight: list[tuple[str, str, str]] = []
    disruptions: list[str] = []
    events: list[m.Event] = []
    step = days * 86400.0 / max(n, 1)
    now = f.T0
    seq = 0

    def stamp() -> datetime:
        return now + timedelta(seconds=rng.uniform(-120.0, 5.0))  # a little lateness

    for code in codes:
        for sku in catalogue:
            events.append(
                f.snapshot(
                    sku, on_hand[(code, sku)], t=now, unit_cost=cost_of[sku], loc=code,
                    supplier_id=supplier_of[sku], sku_class=rng.choice("ABC"),
                )
            )  # fmt: skip
    while len(events) < n:
        now += timedelta(seconds=rng.expovariate(1.0 / step))
        seq += 1
        code, sku = rng.choice(codes), rng.choice(catalogue)
        roll = rng.random()
        if roll < 0.28:
            lines = [
                (f"l{k}", rng.choice(catalogue), float(rng.randrange(1, 12)), cost_of[sku] * 1.6)
                for k in range(rng.randrange(1, 4))
            ]
            order_id = f"O-{seq}"
            promised = now + timedelta(hours=rng.uniform(12, 72))
            tier = rng.choice(["strategic", "key", "standard", "standard"])
            events.append(
                f.order(
                    order_id, lines, t=stamp(), promised=promised, loc=code, tier=tier,
                    channel=rng.choice(["web", "store", "b2b"]),
                    region=rng.choice(["north", "south"]),
                )
            )  # fmt: skip
            open_orders.append((code, order_id, lines))
        elif roll < 0.52 and open_orders:
            code, order_id, lines = open_orders.pop(rng.randrange(len(open_orders)))
            if rng.random() < 0.04:
                events.append(f.cancel(order_id, t=stamp(), loc=code))
                continue
            share = 1.0 if rng.random() < 0.8 else 0.5
            shipped = [(lid, s, max(1.0, q * share)) for lid, s, q, _p in lines]
            shipment = f"S-{seq}"
            expedite = round(rng.uniform(5, 60), 2) if rng.random() < 0.1 else 0.0
            events.append(
                f.dispatch(shipment, order_id, shipped, t=stamp(), loc=code, expedite_cost=expedite)
            )
            in_flight.append((code, shipment, order_id))
            for _lid, s, q in shipped:
                on_hand[(code, s)] = max(0.0, on_hand[(code, s)] - q)
        elif roll < 0.66 and in_flight:
            code, shipment, order_id = in_flight.pop(0)
            events.append(f.delivered(shipment, order_id, t=stamp(), loc=code))
        elif roll < 0.78:
            events.append(
                f.snapshot(
                    sku, max(on_hand[(code, sku)], 0.0), t=stamp(), unit_cost=cost_of[sku],
                    loc=code,
                    in_transit=float(rng.randrange(0, 50)), supplier_id=supplier_of[sku],
                )
            )  # fmt: skip
        elif roll < 0.86:
            delta = float(rng.choice([-5, -3, -1, 2, 10, 40]))
            on_hand[(code, sku)] = on_hand[(code, sku)] + delta
            events.append(f.adjusted(sku, delta, t=stamp(), loc=code))
        elif roll < 0.89:
            ordered = now - timedelta(days=rng.uniform(2, 12))
            events.append(f.received(supplier_of[sku], sku, t=stamp(), ordered=ordered, loc=code))
            on_hand[(code, sku)] += 50.0
        elif roll < 0.93:
            day = (now - f.T0).days
            start = f.T0 + timedelta(days=day + rng.randrange(-2, 2))
            end = start + timedelta(days=1)
            events.append(
                f.forecast(
                    sku, float(rng.randrange(0, 30)), t=stamp(), start=start, end=end, loc=code
                )
            )
        elif roll < 0.97:
            kind = rng.choice(["recommended", "recommended", "overridden", "applied"])
            if kind == "recommended":
                events.append(f.recommended(sku, t=stamp(), loc=code))
            elif kind == "overridden":
                events.append(f.overridden(sku, t=stamp(), loc=code))
            else:
                events.append(f.applied(sku, t=stamp(), loc=code))
        elif roll < 0.9702:  # a few per week, as in a real network
            disruption_id = f"D-{seq}"
            events.append(
                f.disruption(
                    disruption_id, t=stamp(), locations=rng.choice([[], [code]]),
                    skus=rng.choice([[], [sku]]), supplier_id=rng.choice([None, supplier_of[sku]]),
                )
            )  # fmt: skip
            disruptions.append(disruption_id)
        elif roll < 0.9704 and disruptions:
            events.append(f.resolved(disruptions.pop(0), t=stamp()))
    return events
