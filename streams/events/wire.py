"""Decoding mirrors of the contracts in `models.py`: msgspec structs for the hot path.

`models.py` stays the contract (JSON Schema, publishing); these structs repeat it
field for field (names, defaults, length and range bounds, literals, aware
datetimes, nested lines and policies) so msgspec can decode a message in one
pass at a fraction of pydantic's cost. Instances duck-type as the models:
`event.event_type`, `event.occurred_at`, `event.lines[0].sku` and so on.

`decode.decode_event` trusts these structs only to accept: whatever msgspec
refuses is re-decided by pydantic, so rejections (reason and detail) are the
models' own. tests/unit/events/test_wire_conformance.py checks that msgspec
accepts nothing pydantic refuses, with the same values. Where the libraries
read input differently, msgspec is the stricter one:

- pydantic also accepts `_` between date and time, times without seconds
  (`T10:30Z`) and `,` before fractional seconds; msgspec refuses them.
- a message with a repeated key is refused by both (`duplicate_key`, see
  `duplicate_keys.py`); msgspec may refuse it first, and then pydantic's path
  names the duplicate.
- invalid UTF-8 can surface as UnicodeDecodeError, not a msgspec error.
Those messages are accepted through the slow path, as a struct copied from the
pydantic model (`from_model`).

One residual difference, in values only: beyond 6 fractional digits msgspec
rounds a timestamp to the nearest microsecond where pydantic truncates, so
`...:00.1234567Z` decodes to .123457 on the fast path and .123456 in pydantic
(at most 1 µs apart). Accept/reject still agree: decode_event's band check is
strict at EARLIEST, so a pre-1970 instant rounded up to 1970-01-01T00:00:00Z
falls back to pydantic; one rounded up to LATEST does too. Every consumer
decodes through decode_event, so the system is consistent with itself; an exact
screen for such fractions measured ~0.5 µs per event, a third of the decode.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, cast, get_args

import msgspec
from pydantic import BaseModel

from streams.events import models
from streams.events.models import (
    CODE_CHARACTERS,
    MAX_LINES,
    MAX_TARGETS,
    CustomerTier,
    DisruptionKind,
    Severity,
    SkuClass,
)

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
# msgspec matches with re.search, where `$` also matches before a final newline: `\Z`.
Code = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=f"^[{CODE_CHARACTERS}]+\\Z")
]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
Source = Annotated[str, msgspec.Meta(max_length=128)]
Quantity = Annotated[float, msgspec.Meta(gt=0, le=1e12)]
NonNegative = Annotated[float, msgspec.Meta(ge=0, le=1e12)]
Signed = Annotated[float, msgspec.Meta(ge=-1e12, le=1e12)]
DelayDays = Annotated[float, msgspec.Meta(ge=0, le=3650)]
# Every float above is bounded, so the infinities (and JSON has no NaN) are refused
# like pydantic's allow_inf_nan=False does.
Stamp = Annotated[datetime, msgspec.Meta(tz=True)]


class Contract(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Frozen structs that refuse unknown fields.

    msgspec inherits both options; `frozen=True` is repeated on every subclass
    because mypy's dataclass_transform support does not see it inherited.
    """


# gc=False only where every field is an immutable scalar (or a scalar-only struct): such
# an instance can never be part of a reference cycle. Types holding lists keep GC
# tracking, since a list can be mutated to point back at its event.
class Leaf(Contract, frozen=True, gc=False):
    """Structs whose fields are all immutable scalars."""


class OrderLine(Leaf, frozen=True):
    line_id: Id
    sku: Code
    quantity: Quantity
    unit_price: NonNegative


class ShipmentLine(Leaf, frozen=True):
    line_id: Id
    sku: Code
    quantity: Quantity


class Policy(Leaf, frozen=True):
    safety_stock: NonNegative
    reorder_point: NonNegative
    order_up_to: NonNegative | None = None


class EventBase(Contract, frozen=True, tag_field="event_type", kw_only=True):
    """Common fields; `event_type` is the union tag, also readable as a class attribute.

    kw_only is per class in msgspec (not inherited): every event type repeats it so
    its required fields may follow the defaulted `source`, in the models' order.
    """

    event_type: ClassVar[str]
    event_id: Id
    occurred_at: Stamp
    source: Source | None = None


class ScalarEvent(EventBase, frozen=True, gc=False):
    """An event type without list fields (see Leaf)."""


class OrderPlaced(EventBase, tag="order.placed", frozen=True, kw_only=True):
    event_type: ClassVar[Literal["order.placed"]] = "order.placed"
    order_id: Id
    location: Code
    customer_id: Id
    customer_tier: CustomerTier
    channel: Code
    region: Code
    promised_at: Stamp
    lines: Annotated[list[OrderLine], msgspec.Meta(min_length=1, max_length=MAX_LINES)]


class OrderCancelled(ScalarEvent, tag="order.cancelled", frozen=True, kw_only=True):
    event_type: ClassVar[Literal["order.cancelled"]] = "order.cancelled"
    order_id: Id
    location: Code


class ShipmentDispatched(EventBase, tag="shipment.dispatched", frozen=True, kw_only=True):
    event_type: ClassVar[Literal["shipment.dispatched"]] = "shipment.dispatched"
    shipment_id: Id
    order_id: Id
    location: Code
    lines: Annotated[list[ShipmentLine], msgspec.Meta(min_length=1, max_length=MAX_LINES)]
    expedited: bool
    expedite_cost: NonNegative = 0.0


class ShipmentDelivered(ScalarEvent, tag="shipment.delivered", frozen=True, kw_only=True):
    event_type: ClassVar[Literal["shipment.delivered"]] = "shipment.delivered"
    shipment_id: Id
    order_id: Id
    location: Code


class InboundReceived(ScalarEvent, tag="inbound.received", frozen=True, kw_only=True):
    event_type: ClassVar[Literal["inbound.received"]] = "inbound.received"
    po_id: Id
    supplier_id: Id
    sku: Code
    location: Code
    quantity: Quantity
    ordered_at: Stamp
    promised_at: Stamp


class InventorySnapshot(ScalarEvent, tag="inventory.snapshot", frozen=True, kw_only=True):
    event_type: ClassVar[Literal["inventory.snapshot"]] = "inventory.snapshot"
    sku: Code
    location: Code
    on_hand: NonNegative
    on_order: NonNegative
    in_transit: NonNegative
    unit_cost: NonNegative
    sku_class: SkuClass | None = None
    supplier_id: Id | None = None


class InventoryAdjusted(ScalarEvent, tag="inventory.adjusted", frozen=True, kw_only=True):
    event_type: ClassVar[Literal["inventory.adjusted"]] = "inventory.adjusted"
    sku: Code
    location: Code
    delta: Signed
    reason: Text


class DisruptionReported(EventBase, tag="disruption.reported", frozen=True, kw_only=True):
    event_type: ClassVar[Literal["disruption.reported"]] = "disruption.reported"
    disruption_id: Id
    kind: DisruptionKind
    severity: Severity
    supplier_id: Id | None = None
    locations: Annotated[list[Code], msgspec.Meta(max_length=MAX_TARGETS)]
    skus: Annotated[list[Code], msgspec.Meta(max_length=MAX_TARGETS)]
    expected_delay_days: DelayDays | None = None
    description: Text


class DisruptionResolved(ScalarEvent, tag="disruption.resolved", frozen=True, kw_only=True):
    event_type: ClassVar[Literal["disruption.resolved"]] = "disruption.resolved"
    disruption_id: Id


class ForecastPublished(ScalarEvent, tag="forecast.published", frozen=True, kw_only=True):
    event_type: ClassVar[Literal["forecast.published"]] = "forecast.published"
    sku: Code
    location: Code
    period_start: Stamp
    period_end: Stamp
    quantity: NonNegative
    model: Code


class PolicyRecommended(ScalarEvent, tag="policy.recommended", frozen=True, kw_only=True):
    event_type: ClassVar[Literal["policy.recommended"]] = "policy.recommended"
    recommendation_id: Id
    sku: Code
    location: Code
    policy: Policy
    model: Code


class PolicyOverridden(ScalarEvent, tag="policy.overridden", frozen=True, kw_only=True):
    event_type: ClassVar[Literal["policy.overridden"]] = "policy.overridden"
    recommendation_id: Id
    sku: Code
    location: Code
    planner_id: Id
    policy: Policy
    reason: Text


class PolicyApplied(ScalarEvent, tag="policy.applied", frozen=True, kw_only=True):
    event_type: ClassVar[Literal["policy.applied"]] = "policy.applied"
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

STRUCTS: dict[str, type[EventBase]] = {cls.event_type: cls for cls in get_args(Event)}

# The names of each type's datetime fields, for the timestamp band check (SPEC §3).
STAMP_FIELDS: dict[type[EventBase], tuple[str, ...]] = {
    cls: tuple(f.name for f in msgspec.structs.fields(cls) if f.type == Stamp)
    for cls in STRUCTS.values()
}

DECODER: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)


def from_model(model: models.Event) -> Event:
    """The struct of an already validated pydantic event, copied field by field.

    Built directly rather than through msgspec.convert, which re-validates and
    could refuse a value the two libraries read differently: pydantic, the
    contract, has accepted it already.
    """
    return cast(Event, _copy(model))


def _copy(value: Any) -> Any:
    if isinstance(value, BaseModel):
        cls = globals()[type(value).__name__]  # the struct of the same name
        return cls(**{name: _copy(getattr(value, name)) for name in cls.__struct_fields__})
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
