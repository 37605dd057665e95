"""Raw state of one location: its clock, SKU-locations, orders, dispatches, plans.

The location is the Kafka key, so its watermark and first event time are its
own; nothing here depends on another location's clock.

Inventory events, order placements and dispatches are at first only appended
to the location's `inventory`, `placed` and `dispatched` lists: the engine's
hot path touches no per-SKU object. `settle()` hands them to their
SKU-locations and indexes before anything reads those. What settling does is
insensitive to the order of the events (sorted or max-based state), so when it
runs changes no figure.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

from streams.core.forecast import ForecastBook
from streams.core.orders import DispatchRecord, OrderRecord, ServiceBook
from streams.core.planning import PlanningLog
from streams.core.position import ORDER_LINE, Entry
from streams.core.ratios import ExactSum
from streams.core.service import OrderIndex
from streams.core.sku_location import SkuLocation

InventoryRecord = tuple[str, Entry, str | None, str | None]
"""`(sku, entry, supplier_id, sku_class)` of a snapshot or an adjustment (no supplier, class)."""

COUNTERS: tuple[str, ...] = ("ordered", "shipped", "sales", "cogs", "expedite")
"""Lifetime sums whose pruned part is kept exactly (see `LocationState.pruned`)."""


class DispatchLog:
    """Dispatches of one location sorted lazily by `(time, event_id)`."""

    def __init__(self) -> None:
        self._records: list[DispatchRecord] = []
        self._times: list[float] = []
        self._sorted = True

    def add(self, dispatch: DispatchRecord) -> None:
        if self._records and dispatch.key < self._records[-1].key:
            self._sorted = False
        self._records.append(dispatch)
        if self._sorted:
            self._times.append(dispatch.dispatched_at)

    def _sort(self) -> None:
        if not self._sorted:
            self._records.sort(key=lambda d: d.key)
            self._times = [d.dispatched_at for d in self._records]
            self._sorted = True

    def between(self, lo: float, hi: float) -> list[DispatchRecord]:
        """Dispatches in `(lo, hi]`, in time order."""
        self._sort()
        return self._records[bisect_right(self._times, lo) : bisect_right(self._times, hi)]

    def all(self) -> list[DispatchRecord]:
        self._sort()
        return self._records

    def prune(self, cut: float) -> list[DispatchRecord]:
        """Drop and return the dispatches before `cut`."""
        self._sort()
        k = bisect_left(self._times, cut)
        dropped = self._records[:k]
        del self._records[:k], self._times[:k]
        return dropped


class LocationState:
    """Everything recorded for one location."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.first_at = math.inf  # earliest occurred_at of its events
        self.last_at = -math.inf  # latest occurred_at of its events
        self.events = 0  # events recorded (its activity, for the exporter's location cap)
        self.skus: dict[str, SkuLocation] = {}
        self.orders = OrderIndex(code)
        self.dispatches = DispatchLog()
        self.forecasts = ForecastBook()
        self.planning = PlanningLog()
        # Lifetime counters: per-item amounts (summed exactly when read) plus the
        # exact totals of pruned items.
        self.order_units: dict[str, float] = {}  # order_id -> units on its kept placement
        self.dispatch_units: dict[str, float] = {}  # dispatch event_id -> units
        self.dispatch_expedite: dict[str, float] = {}  # dispatch event_id -> expedite cost
        self.dispatch_sales: dict[str, float] = {}  # dispatch event_id -> sales ($)
        # Dispatches whose sales need (re)pricing, by event id (cheaper to key than a record).
        self.unpriced: dict[str, DispatchRecord] = {}
        self.pruned: dict[str, ExactSum] = {name: ExactSum() for name in COUNTERS}
        # ∫ value dt of complete cost-to-service periods, by (start, end) ($*s).
        self.period_values: dict[tuple[float, float], float] = {}
        # Time-to-replan of disruptions whose first replan was pruned (seconds).
        self.frozen_replans: dict[str, float] = {}
        # Recorded, not settled yet (see the module docstring).
        self.inventory: list[InventoryRecord] = []
        self.placed: list[tuple[OrderRecord, bool]] = []  # (placement, kept)
        self.dispatched: list[DispatchRecord] = []

    def settle(self) -> None:
        """Hand the recorded events to their SKU-locations (creating them) and indexes.

        Runs before every read of `skus`, `orders`, `dispatches` or the counters.
        """
        if self.inventory:
            self._settle_inventory()
        if self.placed:
            self._settle_orders()
        if self.dispatched:
            self._settle_dispatches()

    def _settle_inventory(self) -> None:
        skus = self.skus
        for sku, entry, supplier, sku_class in self.inventory:
            (skus.get(sku) or self.sku(sku)).record_inventory(entry, supplier, sku_class)
        self.inventory = []

    def _settle_orders(self) -> None:
        skus = self.skus
        for order, kept in self.placed:
            t = order.placed_at
            if not kept:
                # A later placement of a kept order id changes nothing but the clocks.
                for _line_id, sku, _quantity, _price in order.lines:
                    (skus.get(sku) or self.sku(sku)).seen(t)
                continue
            # Each line of the kept placement is an arrival of demand at the shelf: a
            # possible stockout start.
            trigger = (t, ORDER_LINE, order.event_id, 0.0, 0.0, 0.0)
            for position, (_line_id, sku, quantity, _price) in enumerate(order.lines):
                (skus.get(sku) or self.sku(sku)).accept_line(order, position, quantity, trigger)
            self.orders.add(order)
            self.order_units[order.order_id] = math.fsum([line[2] for line in order.lines])
        self.placed = []

    def _settle_dispatches(self) -> None:
        skus = self.skus
        for dispatch in self.dispatched:
            t, event_id = dispatch.dispatched_at, dispatch.event_id
            for _line_id, sku, quantity in dispatch.lines:
                (skus.get(sku) or self.sku(sku)).record_line((t, event_id, quantity))
            self.dispatches.add(dispatch)
            self.unpriced[event_id] = dispatch
            self.dispatch_units[event_id] = math.fsum([line[2] for line in dispatch.lines])
            self.dispatch_expedite[event_id] = dispatch.expedite_cost
        self.dispatched = []

    def price_dispatches(self, book: ServiceBook) -> None:
        """Price the dispatches whose order arrived or changed since the last read."""
        for event_id, dispatch in self.unpriced.items():
            self.dispatch_sales[event_id] = book.sales(dispatch)
        self.unpriced.clear()

    def watermark(self, lateness: float) -> float:
        """Latest event time less the allowed lateness."""
        return self.last_at - lateness

    def sku(self, sku: str) -> SkuLocation:
        """The SKU-location, created on first use."""
        found = self.skus.get(sku)
        if found is None:
            found = self.skus[sku] = SkuLocation(self.code, sku)
        return found
