"""A seeded random but plausible event log, for timing the batch reference and for
property-style comparisons until the real simulator exists.

Every event type appears; orders are partially and late shipped, some cancelled;
stock is counted by snapshots and moved by adjustments (down to zero, so stockouts
happen); forecasts cover whole UTC days; disruptions open and close. A small share
of events is invalid (negative quantity, naive timestamp, unknown field) or a
re-publication of an earlier event_id, so validation and de-duplication matter.
Timestamps carry mixed UTC offsets and arrive slightly out of order.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

START = datetime(2024, 3, 1, tzinfo=UTC)
_OFFSETS = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)))
_DISRUPTION_KINDS = ("supplier_delay", "transport", "port_closure", "weather", "demand_spike")


def _stamp(moment: datetime, rng: random.Random) -> str:
    return moment.astimezone(rng.choice(_OFFSETS)).isoformat()


def generate(
    n_events: int = 20_000,
    seed: int = 0,
    days: float = 45.0,
    n_locations: int = 4,
    n_skus: int = 30,
    start: datetime = START,
) -> list[dict[str, Any]]:
    """About `n_events` raw event dicts spread over `days` from `start`."""
    rng = random.Random(seed)
    locations = [f"DC-{i:02d}" for i in range(n_locations)]
    skus = [f"SKU-{i:04d}" for i in range(n_skus)]
    suppliers = [f"SUP-{i}" for i in range(5)]
    supplier_of = {sku: rng.choice(suppliers) for sku in skus}
    cost = {sku: round(rng.uniform(2, 200), 2) for sku in skus}
    on_hand = {(loc, sku): float(rng.randint(0, 400)) for loc in locations for sku in skus}
    events: list[dict[str, Any]] = []
    counter = 0

    def new_id(prefix: str) -> str:
        nonlocal counter
        counter += 1
        return f"{prefix}-{seed}-{counter:07d}"

    def emit(event_type: str, moment: datetime, /, **fields: Any) -> dict[str, Any]:
        event = {
            "event_id": new_id("ev"),
            "event_type": event_type,
            "occurred_at": _stamp(moment, rng),
            "source": "random-log",
            **fields,
        }
        events.append(event)
        return event

    def snapshot(loc: str, sku: str, moment: datetime) -> None:
        emit(
            "inventory.snapshot",
            moment,
            sku=sku,
            location=loc,
            on_hand=on_hand[(loc, sku)],
            on_order=float(rng.randint(0, 200)),
            in_transit=float(rng.randint(0, 100)),
            unit_cost=cost[sku],
            sku_class=rng.choice("ABC"),
            supplier_id=supplier_of[sku] if rng.random() < 0.8 else None,
        )

    for loc in locations:
        for sku in skus:
            snapshot(loc, sku, start + timedelta(seconds=rng.uniform(0, 3600)))

    open_orders: list[dict[str, Any]] = []
    in_flight: list[tuple[dict[str, Any], datetime]] = []
    disruptions: list[str] = []
    recommendations: list[dict[str, Any]] = []
    step = days * 86400 / max(n_events, 1)
    now = start + timedelta(hours=1)
    while len(events) < n_events:
        now += timedelta(seconds=rng.expovariate(1 / step))
        late = now - timedelta(seconds=rng.uniform(0, 60) if rng.random() < 0.1 else 0)
        loc, sku = rng.choice(locations), rng.choice(skus)
        roll = rng.random()
        if roll < 0.22:
            lines = [
                {
                    "line_id": f"L{i}",
                    "sku": rng.choice(skus) if i else sku,
                    "quantity": float(rng.randint(1, 20)),
                    "unit_price": round(cost[sku] * rng.uniform(1.1, 2.0), 2),
                }
                for i in range(rng.randint(1, 3))
            ]
            order = emit(
                "order.placed",
                late,
                order_id=new_id("SO"),
                location=loc,
                customer_id=f"C{rng.randint(1, 300)}",
                customer_tier=rng.choice(("strategic", "key", "standard", "standard")),
                channel=rng.choice(("web", "retail", "b2b")),
                region=rng.choice(("north", "south", "east", "west")),
                promised_at=_stamp(now + timedelta(days=rng.uniform(0.5, 4)), rng),
                lines=lines,
            )
            open_orders.append(order)
        elif roll < 0.42 and open_orders:
            order = open_orders.pop(rng.randrange(len(open_orders)))
            partial = rng.random() < 0.2
            kept = [line for line in order["lines"] if rng.random() < 0.95] or order["lines"][:1]
            shipped: list[dict[str, Any]] = [
                {
                    "line_id": line["line_id"],
                    "sku": line["sku"],
                    "quantity": max(1.0, line["quantity"] - (rng.randint(1, 5) if partial else 0)),
                }
                for line in kept
            ]
            expedited = rng.random() < 0.1
            dispatch = emit(
                "shipment.dispatched",
                late,
                shipment_id=new_id("SH"),
                order_id=order["order_id"],
                location=order["location"],
                lines=shipped,
                expedited=expedited,
                expedite_cost=round(rng.uniform(20, 400), 2) if expedited else 0.0,
            )
            for line in shipped:
                key = (order["location"], line["sku"])
                on_hand[key] = max(0.0, on_hand[key] - line["quantity"])
            in_flight.append((dispatch, now + timedelta(days=rng.uniform(0.2, 5))))
        elif roll < 0.56 and in_flight:
            dispatch, arrival = in_flight.pop(rng.randrange(len(in_flight)))
            emit(
                "shipment.delivered",
                max(arrival, now),
                shipment_id=dispatch["shipment_id"],
                order_id=dispatch["order_id"],
                location=dispatch["location"],
            )
        elif roll < 0.58 and open_orders:
            order = open_orders.pop(rng.randrange(len(open_orders)))
            emit("order.cancelled", late, order_id=order["order_id"], location=order["location"])
        elif roll < 0.72:
            snapshot(loc, sku, late)
        elif roll < 0.79:
            delta = float(rng.randint(-30, 30)) or 1.0
            if rng.random() < 0.2:
                delta = -on_hand[(loc, sku)]  # shrink to zero: a stockout
            on_hand[(loc, sku)] += delta
            emit(
                "inventory.adjusted",
                late,
                sku=sku,
                location=loc,
                delta=delta,
                reason=rng.choice(("cycle_count", "damage", "receipt")),
            )
        elif roll < 0.83:
            ordered = now - timedelta(days=rng.uniform(2, 20))
            quantity = float(rng.randint(20, 300))
            on_hand[(loc, sku)] += quantity
            emit(
                "inbound.received",
                late,
                po_id=new_id("PO"),
                supplier_id=supplier_of[sku],
                sku=sku,
                location=loc,
                quantity=quantity,
                ordered_at=_stamp(ordered, rng),
                promised_at=_stamp(ordered + timedelta(days=7), rng),
            )
        elif roll < 0.89:
            day = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(
                days=rng.randint(-3, 2)
            )
            emit(
                "forecast.published",
                late,
                sku=sku,
                location=loc,
                period_start=day.isoformat(),
                period_end=(day + timedelta(days=1)).isoformat(),
                quantity=float(rng.randint(0, 40)),
                model=rng.choice(("ets", "lgbm")),
            )
        elif roll < 0.92:
            policy = {"safety_stock": float(rng.randint(5, 50)), "reorder_point": 60.0}
            recommendation = emit(
                "policy.recommended",
                late,
                recommendation_id=new_id("REC"),
                sku=sku,
                location=loc,
                policy=policy,
                model="adaptive-v1",
            )
            recommendations.append(recommendation)
        elif roll < 0.935 and recommendations:
            rec = rng.choice(recommendations)
            emit(
                "policy.overridden",
                late,
                recommendation_id=rec["recommendation_id"],
                sku=rec["sku"],
                location=rec["location"],
                planner_id=f"P{rng.randint(1, 9)}",
                policy={"safety_stock": 10.0, "reorder_point": 40.0, "order_up_to": 120.0},
                reason="judgement",
            )
        elif roll < 0.965:
            emit(
                "policy.applied",
                late,
                sku=sku,
                location=loc,
                policy={"safety_stock": 12.0, "reorder_point": 50.0},
                recommendation_id=(
                    rng.choice(recommendations)["recommendation_id"] if recommendations else None
                ),
            )
        elif roll < 0.968:
            disruption_id = new_id("DIS")
            disruptions.append(disruption_id)
            emit(
                "disruption.reported",
                now,
                disruption_id=disruption_id,
                kind=rng.choice(_DISRUPTION_KINDS),
                severity=rng.choice(("low", "medium", "high", "critical")),
                supplier_id=rng.choice(suppliers) if rng.random() < 0.5 else None,
                locations=rng.sample(locations, rng.randint(0, min(2, n_locations))),
                skus=rng.sample(skus, rng.randint(0, min(3, n_skus))),
                expected_delay_days=float(rng.randint(1, 10)),
                description="random disruption",
            )
        elif roll < 0.970 and disruptions:
            emit("disruption.resolved", now, disruption_id=disruptions.pop(0))
        elif roll < 0.985 and events:
            events.append(dict(rng.choice(events)))  # re-publication of an event_id
        else:
            broken = dict(rng.choice(events)) if events else {}
            broken["event_id"] = new_id("bad")
            fault = rng.randrange(3)
            if fault == 0:
                broken["occurred_at"] = now.replace(tzinfo=None).isoformat()
            elif fault == 1:
                broken["unexpected"] = True
            else:
                broken["event_type"] = "order.exploded"
            events.append(broken)
    return events
