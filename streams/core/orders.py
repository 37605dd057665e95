"""Orders joined with their cancellations, dispatches and deliveries.

The join is by `(location, order_id)` and `(location, shipment_id)`: the
location is the Kafka key, so a location's orders and shipments have one
writer. It works in any arrival order: a dispatch or delivery seen before its
order simply waits in the book. An order id placed twice counts once, as its
earliest placement (by time, then event id). Each order's outcome (units
ordered and shipped, lines filled, on time in full) is cached until an event
about that order arrives.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from operator import attrgetter
from typing import NamedTuple

from streams.events import wire as w

Group = tuple[str, str, str]
"""`(region, channel, customer_tier)` of an order."""

Key = tuple[str, str]
"""`(location, order_id)` or `(location, shipment_id)`."""

OrderLine = tuple[str, str, float, float]
"""`(line_id, sku, quantity, unit_price)` of an order line."""

ShipmentLine = tuple[str, str, float]
"""`(line_id, sku, quantity)` of a dispatched line."""


class OrderRecord(NamedTuple):
    """An `order.placed` event with its times as epoch seconds.

    Records are named tuples of plain values (built by `order_record`): cheap
    to build on the hot path, and the garbage collector stops tracking them,
    which matters with weeks of orders in memory.
    """

    order_id: str
    event_id: str
    location: str
    placed_at: float
    promised_at: float
    region: str
    channel: str
    customer_tier: str
    lines: tuple[OrderLine, ...]
    key: Key  # (location, order_id)
    group: Group  # (region, channel, customer_tier)

    def unit_price(self, line_id: str) -> float:
        """Unit price of the line (0 when the order has no such line)."""
        return next((price for lid, _sku, _q, price in self.lines if lid == line_id), 0.0)


# `tuple.__new__` builds a named tuple without the Python-level `__new__` of the class
# (a third of a record's cost); the fields go in declaration order.
_record = tuple.__new__


def order_record(event: w.OrderPlaced, placed_at: float, promised_at: float) -> OrderRecord:
    """The record of an `order.placed` event (a model or a struct with its fields)."""
    location, order_id = event.location, event.order_id
    region, channel, tier = event.region, event.channel, event.customer_tier
    lines = tuple([(x.line_id, x.sku, x.quantity, x.unit_price) for x in event.lines])
    return _record(
        OrderRecord,
        (
            order_id, event.event_id, location, placed_at, promised_at, region, channel, tier,
            lines, (location, order_id), (region, channel, tier),
        ),
    )  # fmt: skip


class DispatchRecord(NamedTuple):
    """A `shipment.dispatched` event with its time as epoch seconds (see `OrderRecord`)."""

    event_id: str
    shipment_id: str
    order_id: str
    location: str
    dispatched_at: float
    lines: tuple[ShipmentLine, ...]
    expedite_cost: float
    key: tuple[float, str]  # (dispatched_at, event_id): time order
    order_key: Key
    shipment_key: Key


def dispatch_record(event: w.ShipmentDispatched, dispatched_at: float) -> DispatchRecord:
    """The record of a `shipment.dispatched` event (a model or a struct with its fields)."""
    event_id, location = event.event_id, event.location
    order_id, shipment_id = event.order_id, event.shipment_id
    lines = tuple([(x.line_id, x.sku, x.quantity) for x in event.lines])
    return _record(
        DispatchRecord,
        (
            event_id, shipment_id, order_id, location, dispatched_at, lines, event.expedite_cost,
            (dispatched_at, event_id), (location, order_id), (location, shipment_id),
        ),
    )  # fmt: skip


class OrderOutcome(NamedTuple):
    """How one order was served. `shipped` is capped per line at the ordered quantity."""

    ordered: float
    shipped: float
    lines: int
    lines_filled: int
    on_time_in_full: bool
    unfilled_skus: tuple[str, ...]


def evaluate(
    order: OrderRecord, dispatches: list[DispatchRecord], delivered_at: dict[Key, float]
) -> OrderOutcome:
    """Outcome of an order from all dispatches seen for it.

    A line is filled when its dispatched quantity reaches the ordered quantity;
    it is on time in full when the quantity on shipments delivered at or
    before `promised_at` does.
    """
    if not dispatches:
        units = [quantity for _lid, _sku, quantity, _price in order.lines]
        skus = tuple(sku for _lid, sku, _q, _price in order.lines)
        return OrderOutcome(math.fsum(units), 0.0, len(units), 0, False, skus)
    promised = order.promised_at
    shipped: dict[str, float] = {}
    on_time: dict[str, float] = {}
    for dispatch in sorted(dispatches, key=_BY_TIME) if len(dispatches) > 1 else dispatches:
        delivered = delivered_at.get(dispatch.shipment_key)
        in_time = delivered is not None and delivered <= promised
        for line_id, _sku, quantity in dispatch.lines:
            shipped[line_id] = shipped.get(line_id, 0.0) + quantity
            if in_time:
                on_time[line_id] = on_time.get(line_id, 0.0) + quantity
    ordered_units: list[float] = []
    shipped_units: list[float] = []
    unfilled: list[str] = []
    otif = True
    for line_id, sku, quantity, _price in order.lines:
        sent = shipped.get(line_id, 0.0)
        ordered_units.append(quantity)
        shipped_units.append(sent if sent < quantity else quantity)
        if sent < quantity:
            unfilled.append(sku)
        if otif and on_time.get(line_id, 0.0) < quantity:
            otif = False
    count = len(ordered_units)
    return OrderOutcome(
        math.fsum(ordered_units), math.fsum(shipped_units), count, count - len(unfilled), otif,
        tuple(unfilled),
    )  # fmt: skip


def priced(dispatch: DispatchRecord, order: OrderRecord) -> float:
    """Sales of a dispatch priced by a placement of its order: Σ quantity x line unit price ($).

    A line the placement does not have is priced 0.
    """
    return math.fsum(q * order.unit_price(line_id) for line_id, _sku, q in dispatch.lines)


_BY_TIME = attrgetter("key")
_MISSING = object()


class ServiceBook:
    """Every order, cancellation, dispatch and delivery seen, joined by location and id."""

    def __init__(self) -> None:
        self.orders: dict[Key, OrderRecord] = {}
        # First placements processed that a re-publication displaced (rare): with the
        # kept ones they give `first_placement`.
        self._displaced_first: dict[Key, OrderRecord] = {}
        self.cancelled: set[Key] = set()
        self.dispatches: dict[Key, list[DispatchRecord]] = {}
        self.delivered: dict[Key, float] = {}
        self._outcomes: dict[Key, OrderOutcome | None] = {}
        # The orders a shipment's dispatches name (a delivery may name another one).
        self._shipment_orders: dict[Key, tuple[Key, ...]] = {}

    def add_order(self, order: OrderRecord) -> tuple[bool, OrderRecord | None]:
        """Keep the earliest placement of an order id (by time, then event id).

        Returns `(accepted, replaced)`: whether this placement is now the kept
        one, and the later placement it displaced, if any. `(True, None)` means
        it is the first placement of its id processed.
        """
        kept = self.orders.get(order.key)
        if kept is not None:
            if (kept.placed_at, kept.event_id) <= (order.placed_at, order.event_id):
                return False, None
            self._displaced_first.setdefault(order.key, kept)
        self.orders[order.key] = order
        self.invalidate(order.key)
        return True, kept

    def first_placement(self, order: Key) -> OrderRecord | None:
        """The first placement of the order id processed (None while there is none).

        It never changes once there is one, so the sales counter, priced from it,
        never goes down when a re-publication displaces the kept placement.
        """
        return self._displaced_first.get(order) or self.orders.get(order)

    def add_dispatch(self, dispatch: DispatchRecord) -> None:
        self.dispatches.setdefault(dispatch.order_key, []).append(dispatch)
        named = self._shipment_orders.get(dispatch.shipment_key, ())
        if dispatch.order_key not in named:
            self._shipment_orders[dispatch.shipment_key] = (*named, dispatch.order_key)
        self.invalidate(dispatch.order_key)

    def add_delivery(self, shipment: Key, order: Key, t: float) -> None:
        """Record a delivery; the earliest one of a shipment counts."""
        self.delivered[shipment] = min(t, self.delivered.get(shipment, t))
        self.invalidate(order)
        for other in self._shipment_orders.get(shipment, ()):
            self.invalidate(other)

    def cancel(self, order: Key) -> None:
        self.cancelled.add(order)
        self.invalidate(order)

    def invalidate(self, order: Key) -> None:
        """Forget the cached outcome of the order."""
        self._outcomes.pop(order, None)

    def outcome(self, order: Key) -> OrderOutcome | None:
        """The order's outcome; None when it is unknown or cancelled."""
        found = self._outcomes.get(order, _MISSING)
        if found is not _MISSING:
            return found  # type: ignore[return-value]
        record = self.orders.get(order)
        result = None
        if record is not None and order not in self.cancelled:
            result = evaluate(record, self.dispatches.get(order, []), self.delivered)
        self._outcomes[order] = result
        return result

    def sales(self, dispatch: DispatchRecord) -> float:
        """Sales of a dispatch: quantity * order line unit price (0 when the order is unknown)."""
        order = self.orders.get(dispatch.order_key)
        return 0.0 if order is None else priced(dispatch, order)

    def prune(
        self, prunable: Callable[[OrderRecord | None, list[DispatchRecord]], bool]
    ) -> tuple[list[OrderRecord], list[DispatchRecord]]:
        """Drop the orders (with their dispatches and deliveries) `prunable` accepts.

        Returns the dropped order records and dispatches.
        """
        dropped: list[OrderRecord] = []
        gone: list[DispatchRecord] = []
        for key in sorted(set(self.orders) | set(self.dispatches)):
            order = self.orders.get(key)
            dispatches = self.dispatches.get(key, [])
            if not prunable(order, dispatches):
                continue
            if order is not None:
                dropped.append(self.orders.pop(key))
            self._displaced_first.pop(key, None)
            for dispatch in self.dispatches.pop(key, []):
                gone.append(dispatch)
                self.delivered.pop(dispatch.shipment_key, None)
                self._shipment_orders.pop(dispatch.shipment_key, None)
            self.cancelled.discard(key)
            self._outcomes.pop(key, None)
        return dropped, gone

    def forget_deliveries(self, cut: float) -> int:
        """Drop deliveries before `cut` of shipments no dispatch in the book names; how many."""
        orphans = [
            shipment
            for shipment, t in self.delivered.items()
            if t < cut and shipment not in self._shipment_orders
        ]
        for shipment in orphans:
            del self.delivered[shipment]
        return len(orphans)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_outcomes"] = {}  # a cache
        return state
