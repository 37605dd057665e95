"""The simulated world's state, agenda and event emission.

`World` holds the true inventory position of every SKU-location, open orders,
purchase orders and active disruptions, plus an agenda (a heap of timed
actions). Actions run at their simulated time and append event dicts to
`World.out`; the generator drains it. Inventory only moves through `adjust`,
which publishes the matching `inventory.adjusted` event and never lets on_hand
go below 0, so the published snapshots and adjustments always add up.

Units: `t` is simulated seconds since the run's start; quantities are whole
units; money is dollars rounded to cents.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from streams.simulate.catalog import Catalog
from streams.simulate.clock import SimClock
from streams.simulate.demand import DemandModel

if TYPE_CHECKING:
    from streams.simulate.rollout import Rollout

Action = Callable[..., None]


@dataclass(slots=True)
class Policy:
    """Replenishment policy in units: reorder when position <= reorder_point."""

    safety_stock: int
    reorder_point: int
    order_up_to: int

    def as_dict(self) -> dict[str, float]:
        return {
            "safety_stock": self.safety_stock,
            "reorder_point": self.reorder_point,
            "order_up_to": self.order_up_to,
        }


@dataclass(slots=True)
class Stock:
    """The true position of one SKU-location (units)."""

    loc: int
    sku: int
    on_hand: int
    policy: Policy
    on_order: int = 0  # ordered from the supplier, not yet shipped by it
    in_transit: int = 0  # shipped by the supplier, not yet received
    forecast_bias: float = 1.0  # persistent bias of the forecasting model


@dataclass(slots=True)
class Line:
    line_id: str
    sku: int
    quantity: int
    unit_price: float
    shipped: int = 0


@dataclass(slots=True)
class Order:
    order_id: str
    loc: int
    tier: str
    channel: str
    promised_at: float
    lines: list[Line]
    shipped_any: bool = False


@dataclass(slots=True)
class PurchaseOrder:
    po_id: str
    loc: int
    sku: int
    quantity: int
    ordered_at: float
    promised_at: float
    shipped: bool = False


@dataclass(slots=True)
class Disruption:
    disruption_id: str
    kind: str
    severity: str
    ends_at: float
    supplier_id: str | None = None
    locations: frozenset[int] = frozenset()  # empty = every location
    skus: frozenset[int] = frozenset()  # empty = every SKU
    delay_days: float = 0.0
    factor: float = 1.0  # demand multiplier (spikes) or transit-time multiplier
    reported: bool = True

    def covers(self, loc: int, sku: int | None = None) -> bool:
        in_location = not self.locations or loc in self.locations
        return in_location and (sku is None or not self.skus or sku in self.skus)


@dataclass
class World:
    catalog: Catalog
    demand: DemandModel
    clock: SimClock
    rng: random.Random
    tag: str
    stock: list[list[Stock]] = field(default_factory=list)  # [location][sku]
    orders: dict[str, Order] = field(default_factory=dict)
    disruptions: dict[str, Disruption] = field(default_factory=dict)
    out: list[dict[str, Any]] = field(default_factory=list)
    t: float = 0.0
    agenda: list[tuple[float, int, Action, tuple[Any, ...]]] = field(default_factory=list)
    rollout: Rollout | None = None  # the adaptive-rollout scenario's state, else None
    _seq: int = 0
    _events: int = 0
    _ids: dict[str, int] = field(default_factory=dict)
    _iso: tuple[float, str] = (float("nan"), "")

    def at(self, t: float, action: Action, *args: Any) -> None:
        """Run `action(world, *args)` at simulated time t (never before now)."""
        self._seq += 1
        heapq.heappush(self.agenda, (max(t, self.t), self._seq, action, args))

    def new_id(self, prefix: str) -> str:
        number = self._ids.get(prefix, 0) + 1
        self._ids[prefix] = number
        return f"{prefix}-{self.tag}-{number:06d}"

    def iso(self, t: float) -> str:
        if self._iso[0] != t:
            self._iso = (t, self.clock.iso(t))
        return self._iso[1]

    def emit(self, event_type: str, source: str, **fields: Any) -> None:
        self._events += 1
        event = {
            "event_id": f"sim-{self.tag}-{self._events:08d}",
            "event_type": event_type,
            "occurred_at": self.iso(self.t),
            "source": source,
        }
        event.update(fields)
        self.out.append(event)

    def where(self, stock: Stock) -> dict[str, str]:
        return {
            "sku": self.catalog.skus[stock.sku].code,
            "location": self.catalog.locations[stock.loc].code,
        }

    def adjust(self, stock: Stock, delta: int, reason: str) -> int:
        """Move on_hand by `delta` (clamped so it stays >= 0) and publish it; returns the delta."""
        delta = max(delta, -stock.on_hand)
        if delta != 0:
            stock.on_hand += delta
            self.emit("inventory.adjusted", "wms", **self.where(stock), delta=delta, reason=reason)
        return delta

    def snapshot(self, stock: Stock) -> None:
        sku = self.catalog.skus[stock.sku]
        self.emit(
            "inventory.snapshot",
            "wms",
            **self.where(stock),
            on_hand=stock.on_hand,
            on_order=stock.on_order,
            in_transit=stock.in_transit,
            unit_cost=sku.unit_cost,
            sku_class=sku.sku_class,
            supplier_id=sku.supplier_id,
        )

    # Effects of active disruptions -------------------------------------------------

    def demand_multiplier(self, loc: int) -> float:
        factor = 1.0
        for d in self.disruptions.values():
            if d.kind == "demand_spike" and d.covers(loc):
                factor *= d.factor
        return factor

    def boosted_skus(self, loc: int) -> list[int]:
        boosted: set[int] = set()
        for d in self.disruptions.values():
            if d.kind == "demand_spike" and d.covers(loc):
                boosted.update(d.skus)
        return sorted(boosted)

    def transit_factor(self, loc: int) -> float:
        factor = 1.0
        for d in self.disruptions.values():
            if d.kind in ("transport", "weather") and d.covers(loc):
                factor = max(factor, d.factor)
        return factor

    def supplier_delay_days(self, supplier_id: str, loc: int) -> float:
        """Extra lead time (days) of a new purchase order while supplier disruptions last."""
        return max(
            (
                d.delay_days
                for d in self.disruptions.values()
                if d.supplier_id == supplier_id and d.covers(loc)
            ),
            default=0.0,
        )

    def receipt_hold_until(self, po: PurchaseOrder) -> float | None:
        """When a disruption blocking this receipt ends, or None when nothing blocks it."""
        supplier_id = self.catalog.skus[po.sku].supplier_id
        ends = [
            d.ends_at
            for d in self.disruptions.values()
            if d.covers(po.loc, po.sku)
            and (
                (d.supplier_id == supplier_id and d.kind in ("supplier_delay", "port_closure"))
                or d.kind in ("quality_hold", "transport", "weather")
            )
        ]
        return max(ends) if ends else None
