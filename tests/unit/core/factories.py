"""Small factories for real event models, with times given as offsets from `T0`.

Each call gets a fresh `event_id` unless one is passed; the ids depend only on
the order of calls in a test, so a test's event set is fixed before it is
shuffled.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from streams.events import models as m
from streams.settings import KpiSettings

T0 = datetime(2024, 3, 1, tzinfo=UTC)
T0_S = T0.timestamp()
DAY = 86400.0
HOUR = 3600.0

_ids = itertools.count(1)


def at(days: float = 0.0, hours: float = 0.0) -> datetime:
    """`T0` plus an offset."""
    return T0 + timedelta(days=days, hours=hours)


def ts(days: float = 0.0, hours: float = 0.0) -> float:
    """Epoch seconds of `at(days, hours)`."""
    return at(days, hours).timestamp()


def _id(prefix: str, event_id: str | None) -> str:
    return event_id if event_id is not None else f"{prefix}-{next(_ids):06d}"


def settings(**overrides: object) -> KpiSettings:
    """KPI settings for tests: no allowed lateness unless asked."""
    values: dict[str, object] = {"allowed_lateness_seconds": 0.0}
    values.update(overrides)
    return KpiSettings.model_validate(values)


def snapshot(
    sku: str,
    on_hand: float,
    *,
    t: datetime,
    unit_cost: float = 1.0,
    loc: str = "L1",
    in_transit: float = 0.0,
    on_order: float = 0.0,
    sku_class: str | None = None,
    supplier_id: str | None = None,
    event_id: str | None = None,
) -> m.InventorySnapshot:
    return m.InventorySnapshot.model_validate({
        "event_id": _id("snap", event_id), "event_type": "inventory.snapshot", "occurred_at": t,
        "sku": sku, "location": loc, "on_hand": on_hand, "on_order": on_order,
        "in_transit": in_transit, "unit_cost": unit_cost, "sku_class": sku_class,
        "supplier_id": supplier_id,
    })  # fmt: skip


def adjusted(
    sku: str, delta: float, *, t: datetime, loc: str = "L1", event_id: str | None = None
) -> m.InventoryAdjusted:
    return m.InventoryAdjusted(
        event_id=_id("adj", event_id), event_type="inventory.adjusted", occurred_at=t, sku=sku,
        location=loc, delta=delta, reason="count",
    )  # fmt: skip


def order(
    order_id: str,
    lines: Sequence[tuple[str, str, float, float]],
    *,
    t: datetime,
    promised: datetime,
    loc: str = "L1",
    tier: str = "standard",
    channel: str = "web",
    region: str = "north",
    event_id: str | None = None,
) -> m.OrderPlaced:
    """An order; lines are `(line_id, sku, quantity, unit_price)`."""
    return m.OrderPlaced.model_validate({
        "event_id": _id("ord", event_id), "event_type": "order.placed", "occurred_at": t,
        "order_id": order_id, "location": loc, "customer_id": "C1", "customer_tier": tier,
        "channel": channel, "region": region, "promised_at": promised,
        "lines": [
            {"line_id": lid, "sku": sku, "quantity": q, "unit_price": p} for lid, sku, q, p in lines
        ],
    })  # fmt: skip


def cancel(order_id: str, *, t: datetime, loc: str = "L1") -> m.OrderCancelled:
    return m.OrderCancelled(
        event_id=_id("can", None), event_type="order.cancelled", occurred_at=t,
        order_id=order_id, location=loc,
    )  # fmt: skip


def dispatch(
    shipment_id: str,
    order_id: str,
    lines: Sequence[tuple[str, str, float]],
    *,
    t: datetime,
    loc: str = "L1",
    expedite_cost: float = 0.0,
) -> m.ShipmentDispatched:
    """A dispatch; lines are `(line_id, sku, quantity)`."""
    return m.ShipmentDispatched.model_validate({
        "event_id": _id("dis", None), "event_type": "shipment.dispatched", "occurred_at": t,
        "shipment_id": shipment_id, "order_id": order_id, "location": loc,
        "lines": [{"line_id": lid, "sku": sku, "quantity": q} for lid, sku, q in lines],
        "expedited": expedite_cost > 0, "expedite_cost": expedite_cost,
    })  # fmt: skip


def delivered(
    shipment_id: str, order_id: str, *, t: datetime, loc: str = "L1"
) -> m.ShipmentDelivered:
    return m.ShipmentDelivered(
        event_id=_id("del", None), event_type="shipment.delivered", occurred_at=t,
        shipment_id=shipment_id, order_id=order_id, location=loc,
    )  # fmt: skip


def received(
    supplier_id: str,
    sku: str,
    *,
    t: datetime,
    ordered: datetime,
    loc: str = "L1",
    quantity: float = 10.0,
) -> m.InboundReceived:
    return m.InboundReceived(
        event_id=_id("rcv", None), event_type="inbound.received", occurred_at=t,
        po_id=_id("po", None), supplier_id=supplier_id, sku=sku, location=loc,
        quantity=quantity, ordered_at=ordered, promised_at=t,
    )  # fmt: skip


def disruption(
    disruption_id: str,
    *,
    t: datetime,
    locations: Sequence[str] = (),
    skus: Sequence[str] = (),
    supplier_id: str | None = None,
    severity: str = "high",
    kind: str = "supplier_delay",
) -> m.DisruptionReported:
    return m.DisruptionReported.model_validate({
        "event_id": _id("dsr", None), "event_type": "disruption.reported", "occurred_at": t,
        "disruption_id": disruption_id, "kind": kind, "severity": severity,
        "supplier_id": supplier_id, "locations": list(locations), "skus": list(skus),
        "description": "test",
    })  # fmt: skip


def resolved(disruption_id: str, *, t: datetime) -> m.DisruptionResolved:
    return m.DisruptionResolved(
        event_id=_id("res", None), event_type="disruption.resolved", occurred_at=t,
        disruption_id=disruption_id,
    )  # fmt: skip


def forecast(
    sku: str,
    quantity: float,
    *,
    t: datetime,
    start: datetime,
    end: datetime,
    loc: str = "L1",
    event_id: str | None = None,
) -> m.ForecastPublished:
    return m.ForecastPublished(
        event_id=_id("fc", event_id), event_type="forecast.published", occurred_at=t, sku=sku,
        location=loc, period_start=start, period_end=end, quantity=quantity, model="m1",
    )  # fmt: skip


_POLICY = {"safety_stock": 5.0, "reorder_point": 10.0}


def recommended(
    sku: str,
    *,
    t: datetime,
    loc: str = "L1",
    recommendation_id: str | None = None,
    event_id: str | None = None,
) -> m.PolicyRecommended:
    """A recommendation; a fresh `recommendation_id` unless one is passed."""
    return m.PolicyRecommended.model_validate({
        "event_id": _id("rec", event_id), "event_type": "policy.recommended", "occurred_at": t,
        "recommendation_id": _id("r", recommendation_id), "sku": sku, "location": loc,
        "policy": _POLICY, "model": "m1",
    })  # fmt: skip


def overridden(
    sku: str, *, t: datetime, loc: str = "L1", recommendation_id: str | None = None
) -> m.PolicyOverridden:
    """An override; of an unknown (fresh) recommendation unless `recommendation_id` is passed."""
    return m.PolicyOverridden.model_validate({
        "event_id": _id("ovr", None), "event_type": "policy.overridden", "occurred_at": t,
        "recommendation_id": _id("r", recommendation_id), "sku": sku, "location": loc,
        "planner_id": "P1", "policy": _POLICY, "reason": "judgement",
    })  # fmt: skip


def applied(
    sku: str, *, t: datetime, loc: str = "L1", recommendation_id: str | None = None
) -> m.PolicyApplied:
    return m.PolicyApplied.model_validate({
        "event_id": _id("app", None), "event_type": "policy.applied", "occurred_at": t,
        "sku": sku, "location": loc, "policy": _POLICY, "recommendation_id": recommendation_id,
    })  # fmt: skip


def tick(*, t: datetime, loc: str = "L1") -> m.ShipmentDelivered:
    """An event that only moves the location's clock (a delivery of an unknown shipment)."""
    return delivered(_id("tick-shp", None), _id("tick-ord", None), t=t, loc=loc)
