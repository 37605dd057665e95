"""Event contracts of SPEC §3: one pydantic model per `event_type`.

Strict on purpose: unknown fields and event types are rejected, timestamps must
carry a UTC offset, quantities and costs are non-negative where the spec says
so, and strings and lists are bounded so one message cannot exhaust memory.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]
CODE_CHARACTERS = "A-Za-z0-9._:/-"
"""Location, SKU, region, channel and model codes: ASCII letters, digits and `._:/-` only.

Codes become label values and Redis keys: a conservative set means no control,
bidi, zero-width or whitespace characters, and no two codes that look alike or
that an exporter could render as one label value (SPEC §3)."""
Code = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=f"^[{CODE_CHARACTERS}]+$")
]
Text = Annotated[str, StringConstraints(max_length=2000)]
Quantity = Annotated[float, Field(gt=0, allow_inf_nan=False, le=1e12)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False, le=1e12)]
Signed = Annotated[float, Field(allow_inf_nan=False, ge=-1e12, le=1e12)]

# Enumerations shared with the msgspec mirror (streams/events/wire.py) and the simulator.
CustomerTier = Literal["strategic", "key", "standard"]
SkuClass = Literal["A", "B", "C"]
Severity = Literal["low", "medium", "high", "critical"]
DisruptionKind = Literal[
    "supplier_delay",
    "transport",
    "port_closure",
    "weather",
    "quality_hold",
    "demand_spike",
    "other",
]

MAX_LINES = 1000
MAX_TARGETS = 10_000


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class EventBase(Contract):
    event_id: Id
    occurred_at: AwareDatetime
    source: Annotated[str, StringConstraints(max_length=128)] | None = None


class OrderLine(Contract):
    line_id: Id
    sku: Code
    quantity: Quantity
    unit_price: NonNegative


class ShipmentLine(Contract):
    line_id: Id
    sku: Code
    quantity: Quantity


class Policy(Contract):
    safety_stock: NonNegative
    reorder_point: NonNegative
    order_up_to: NonNegative | None = None


class OrderPlaced(EventBase):
    event_type: Literal["order.placed"]
    order_id: Id
    location: Code
    customer_id: Id
    customer_tier: CustomerTier
    channel: Code
    region: Code
    promised_at: AwareDatetime
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=MAX_LINES)]


class OrderCancelled(EventBase):
    event_type: Literal["order.cancelled"]
    order_id: Id
    location: Code


class ShipmentDispatched(EventBase):
    event_type: Literal["shipment.dispatched"]
    shipment_id: Id
    order_id: Id
    location: Code
    lines: Annotated[list[ShipmentLine], Field(min_length=1, max_length=MAX_LINES)]
    expedited: bool
    expedite_cost: NonNegative = 0.0


class ShipmentDelivered(EventBase):
    event_type: Literal["shipment.delivered"]
    shipment_id: Id
    order_id: Id
    location: Code


class InboundReceived(EventBase):
    event_type: Literal["inbound.received"]
    po_id: Id
    supplier_id: Id
    sku: Code
    location: Code
    quantity: Quantity
    ordered_at: AwareDatetime
    promised_at: AwareDatetime


class InventorySnapshot(EventBase):
    event_type: Literal["inventory.snapshot"]
    sku: Code
    location: Code
    on_hand: NonNegative
    on_order: NonNegative
    in_transit: NonNegative
    unit_cost: NonNegative
    sku_class: SkuClass | None = None
    supplier_id: Id | None = None


class InventoryAdjusted(EventBase):
    event_type: Literal["inventory.adjusted"]
    sku: Code
    location: Code
    delta: Signed
    reason: Text


class DisruptionReported(EventBase):
    event_type: Literal["disruption.reported"]
    disruption_id: Id
    kind: DisruptionKind
    severity: Severity
    supplier_id: Id | None = None
    locations: Annotated[list[Code], Field(max_length=MAX_TARGETS)]
    skus: Annotated[list[Code], Field(max_length=MAX_TARGETS)]
    expected_delay_days: Annotated[float, Field(ge=0, le=3650, allow_inf_nan=False)] | None = None
    description: Text


class DisruptionResolved(EventBase):
    event_type: Literal["disruption.resolved"]
    disruption_id: Id


class ForecastPublished(EventBase):
    event_type: Literal["forecast.published"]
    sku: Code
    location: Code
    period_start: AwareDatetime
    period_end: AwareDatetime
    quantity: NonNegative
    model: Code


class PolicyRecommended(EventBase):
    event_type: Literal["policy.recommended"]
    recommendation_id: Id
    sku: Code
    location: Code
    policy: Policy
    model: Code


class PolicyOverridden(EventBase):
    event_type: Literal["policy.overridden"]
    recommendation_id: Id
    sku: Code
    location: Code
    planner_id: Id
    policy: Policy
    reason: Text


class PolicyApplied(EventBase):
    event_type: Literal["policy.applied"]
    sku: Code
    location: Code
    policy: Policy
    recommendation_id: Id | None = None


Event = (
    OrderPlaced
    | OrderCancelled
    | ShipmentDispatched
    | ShipmentDelivered
    | InboundReceived
    | InventorySnapshot
    | InventoryAdjusted
    | DisruptionReported
    | DisruptionResolved
    | ForecastPublished
    | PolicyRecommended
    | PolicyOverridden
    | PolicyApplied
)

MODELS: dict[str, type[EventBase]] = {
    "order.placed": OrderPlaced,
    "order.cancelled": OrderCancelled,
    "shipment.dispatched": ShipmentDispatched,
    "shipment.delivered": ShipmentDelivered,
    "inbound.received": InboundReceived,
    "inventory.snapshot": InventorySnapshot,
    "inventory.adjusted": InventoryAdjusted,
    "disruption.reported": DisruptionReported,
    "disruption.resolved": DisruptionResolved,
    "forecast.published": ForecastPublished,
    "policy.recommended": PolicyRecommended,
    "policy.overridden": PolicyOverridden,
    "policy.applied": PolicyApplied,
}

# The input topic (before the configurable prefix) that carries each event type.
TOPIC_OF: dict[str, str] = {
    "order.placed": "orders",
    "order.cancelled": "orders",
    "shipment.dispatched": "shipments",
    "shipment.delivered": "shipments",
    "inbound.received": "shipments",
    "inventory.snapshot": "inventory",
    "inventory.adjusted": "inventory",
    "disruption.reported": "disruptions",
    "disruption.resolved": "disruptions",
    "forecast.published": "forecasts",
    "policy.recommended": "plans",
    "policy.overridden": "plans",
    "policy.applied": "plans",
}

INPUT_TOPICS: tuple[str, ...] = (
    "orders",
    "shipments",
    "inventory",
    "disruptions",
    "forecasts",
    "plans",
)
ALERTS_TOPIC = "kpi-alerts"
DLQ_TOPIC = "events-dlq"
