"""Raw state of one location: its clock, SKU-locations, orders, dispatches, plans.

The location is the Kafka key, so its watermark and first event time are its
own; nothing here depends on another location's clock.

Inventory events, order placements and dispatches are at first only appended
to the location's `pending` list, in the order they were processed: the
engine's hot path touches no per-SKU object. `settle()` hands them to their
SKU-locations and indexes, in that same order, before anything reads those.
What settling records for the windowed figures is insensitive to the order of
the events (sorted or max-based state); the lifetime counters
(`streams.core.counters`) count each fact as it is processed, so they see the
events in processing order too, whenever settling runs.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right
from typing import Any

from streams.core.counters import LocationCounters
from streams.core.forecast import ForecastBook
from streams.core.orders import DispatchRecord, OrderRecord, ServiceBook, priced
from streams.core.planning import PlanningLog
from streams.core.position import ORDER_LINE, SNAPSHOT, Entry
from streams.core.service import OrderIndex
from streams.core.sku_location import SkuLocation

INVENTORY, PLACED, DISPATCHED = 0, 1, 2
"""Tags of the `pending` records:

- `(INVENTORY, sku, entry, supplier_id, sku_class)`: a snapshot, or an adjustment
  (no supplier, no class);
- `(PLACED, order, kept, first, earlier, withdrawn)`: a placement, whether it is now
  the kept one and the first of its id processed, the dispatches of that order
  processed before it (they wait for its prices) and the SKUs of the placement it
  displaced (their stockout walks lost its lines);
- `(DISPATCHED, dispatch, placement, kept)`: a dispatch, the first placement of its
  order processed before it (None when there was none) and whether that placement
  was also the kept one (then one pricing serves the counter and the window).
"""


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
        self.counters = LocationCounters()  # lifetime counters (streams.core.counters)
        self.dispatch_sales: dict[str, float] = {}  # dispatch event_id -> sales ($), windowed
        # Dispatches whose sales need (re)pricing, by event id (cheaper to key than a record).
        self.unpriced: dict[str, DispatchRecord] = {}
        # ∫ value dt of complete cost-to-service periods, by (start, end) ($*s).
        self.period_values: dict[tuple[float, float], float] = {}
        # Time-to-replan of disruptions whose first replan was pruned (seconds).
        self.frozen_replans: dict[str, float] = {}
        # Recorded, not settled yet, in processing order (see the module docstring).
        self.pending: list[tuple[Any, ...]] = []
        # Stockout counter (streams.core.counters): the latest inventory event time
        # processed, the order lines after it (they wait for it to catch up), and the
        # SKU-locations whose settled episodes may have grown since they were counted.
        self.inventory_seen = -math.inf
        self.unsettled: list[tuple[float, str]] = []  # heap of (time, sku)
        self._recount: set[str] = set()

    def settle(self) -> None:
        """Hand the recorded events to their SKU-locations (creating them) and indexes.

        Runs before every read of `skus`, `orders`, `dispatches` or the counters.
        """
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        for record in pending:
            tag = record[0]
            if tag == INVENTORY:
                self._settle_inventory(record[1], record[2], record[3], record[4])
            elif tag == PLACED:
                self._settle_placement(record[1], record[2], record[3], record[4], record[5])
            else:
                self._settle_dispatch(record[1], record[2], record[3])
        recount, self._recount = self._recount, set()
        for sku in sorted(recount):
            self._count_episodes(self.skus[sku])

    # The stockout counter adds every increase of a SKU-location's settled episodes
    # (streams.core.counters), event by event. Counting each event would build its
    # ledger each time; but only an inventory event at or before the latest inventory
    # time, or a placement displacing another, can *lower* a settled count: those
    # count right before and after themselves, every other event only marks its
    # SKU-locations for the recount at the end of the settle, which then adds the
    # same increases.

    def _settle_inventory(
        self, sku: str, entry: Entry, supplier: str | None, sku_class: str | None
    ) -> None:
        sl = self.skus.get(sku) or self.sku(sku)
        t = entry[0]
        late = t <= self.inventory_seen
        if late:
            self._count_episodes(sl)  # what it had before this event may take back
        sl.record_inventory(entry, supplier, sku_class)
        if entry[1] == SNAPSHOT:
            self.counters.snapshot(sl.known_cost, entry)
        if late:
            self._count_episodes(sl)
            return
        self.inventory_seen = t
        # Order lines up to the new inventory time are settled now.
        unsettled, recount = self.unsettled, self._recount
        while unsettled and unsettled[0][0] <= t:
            recount.add(heapq.heappop(unsettled)[1])
        recount.add(sku)

    def _count_episodes(self, sl: SkuLocation) -> None:
        """Count the stockout episodes of `sl` settled since it was last counted."""
        sl.ledger.build()
        settled = sl.ledger.settled_episodes(self.inventory_seen)
        sl.counted_episodes = self.counters.episodes(sl.counted_episodes, settled)
        self._recount.discard(sl.sku)

    def _settle_placement(
        self,
        order: OrderRecord,
        kept: bool,
        first: bool,
        earlier: tuple[DispatchRecord, ...],
        withdrawn: tuple[str, ...],
    ) -> None:
        skus, t = self.skus, order.placed_at
        if not kept:
            # A later placement of a kept order id changes nothing but the clocks.
            for _line_id, sku, _quantity, _price in order.lines:
                (skus.get(sku) or self.sku(sku)).seen(t)
            return
        # Each line of the kept placement is an arrival of demand at the shelf: a
        # possible stockout start, counted once the location's inventory reaches it.
        trigger = (t, ORDER_LINE, order.event_id, 0.0, 0.0, 0.0)
        counters, settled = self.counters, t <= self.inventory_seen
        for position, (_line_id, sku, quantity, _price) in enumerate(order.lines):
            sl = skus.get(sku) or self.sku(sku)
            sl.accept_line(order, position, quantity, trigger)
            if settled:
                self._recount.add(sku)  # an order line can only add episodes
            else:
                heapq.heappush(self.unsettled, (t, sku))
        # The displaced placement's lines left these walks just now: that may lower them.
        for sku in sorted(set(withdrawn)):
            self._count_episodes(skus[sku])
        self.orders.add(order)
        if first:
            counters.ordered.add(math.fsum([line[2] for line in order.lines]))
            for dispatch in earlier:  # dispatched before the order was known
                counters.sales.add(priced(dispatch, order))

    def _settle_dispatch(
        self, dispatch: DispatchRecord, placement: OrderRecord | None, kept: bool
    ) -> None:
        skus, counters = self.skus, self.counters
        t, event_id = dispatch.dispatched_at, dispatch.event_id
        for _line_id, sku, quantity in dispatch.lines:
            sl = skus.get(sku) or self.sku(sku)
            sl.record_line((t, event_id, quantity))
            counters.dispatch_line(sl.known_cost, quantity)
        self.dispatches.add(dispatch)
        counters.shipped.add(math.fsum([line[2] for line in dispatch.lines]))
        counters.expedite.add(dispatch.expedite_cost)
        sales = 0.0 if placement is None else priced(dispatch, placement)
        if placement is not None:
            counters.sales.add(sales)
        if kept:  # priced by the kept placement (or none): the windowed sales as well
            self.dispatch_sales[event_id] = sales
        else:
            self.unpriced[event_id] = dispatch

    def forget_unsettled(self, cut: float) -> int:
        """Drop the order lines before `cut` still waiting for the inventory feed; how many."""
        kept = [line for line in self.unsettled if line[0] >= cut]
        dropped = len(self.unsettled) - len(kept)
        if dropped:
            heapq.heapify(kept)
            self.unsettled = kept
        return dropped

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
