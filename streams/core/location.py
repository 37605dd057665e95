"""Everything kept for one location, self-contained: clock, SKU-locations, orders, plans.

The location is the Kafka key, so its watermark and first event time are its
own; nothing here depends on another location's clock, and a location's state
can be checkpointed on its own (`streams.core.checkpoint`).

Inventory events, order placements, cancellations, dispatches and policies
applied are at first only appended to the location's `pending` list, in the
order they were processed: the engine's hot path touches no per-SKU object.
`settle()` hands them to their SKU-locations and books, in that same order,
before anything reads those and before a bucket closes. Each pending record
carries what its processing moment decided (whether the event was late, whether
its placement was kept...), so settling gives the same state whenever it runs.
What settling records for the windowed figures is insensitive to the order of
the events within open buckets (sorted, exact-sum or max-based state); the
lifetime counters (`streams.core.counters`) count each fact as it is
processed, so they see the events in processing order too.
"""

from __future__ import annotations

import heapq
import math
from bisect import insort
from typing import Any

from streams.core.cohorts import NONE, policy_source
from streams.core.columns import (
    COGS,
    EXPEDITE,
    SALES,
    BucketColumns,
    CohortColumns,
    ColumnSink,
)
from streams.core.context import Context
from streams.core.counters import LocationCounters
from streams.core.forecast import ForecastBook
from streams.core.history import DEMAND, SHIPPED, SkuHistory
from streams.core.late import apply_late_adjustment, apply_late_snapshot
from streams.core.orders import DispatchRecord, OrderRecord, ServiceBook, priced
from streams.core.planning import PlanningLog
from streams.core.position import ORDER_LINE, SNAPSHOT, Entry
from streams.core.service import DueTotals, OrderIndex
from streams.core.sku_location import SkuLocation, latest
from streams.core.uncertainty import LeadTimeBook
from streams.core.windows import bucket_index

INVENTORY, PLACED, DISPATCHED, CANCELLED, APPLIED, RECEIVED = 0, 1, 2, 3, 4, 5
"""Tags of the `pending` records (`late`: the event's bucket had closed when processed):

- `(INVENTORY, sku, entry, supplier_id, sku_class, late)`: a snapshot, or an
  adjustment (no supplier, no class);
- `(PLACED, order, kept, first, earlier, displaced, cancelled, late)`: a placement,
  whether it is now the kept one and the first of its id processed, the dispatches
  of that order processed before it (they wait for its prices), the placement it
  displaced and whether the order was cancelled already;
- `(DISPATCHED, dispatch, placement, late)`: a dispatch and the first placement of
  its order processed before it (None when there was none);
- `(CANCELLED, placement, already)`: a cancellation, the kept placement then (None
  if unknown) and whether the order was cancelled already;
- `(APPLIED, t, event_id, sku, late, recommendation_id)`: a policy applied ("" when it
  names no recommendation);
- `(RECEIVED, sku, t, event_id, supplier_id)`: a receipt (its supplier becomes the
  SKU-location's when it is the latest named).
"""


def _no_policy(_k: int) -> str:
    return NONE


class LocationState:
    """Everything recorded for one location (see the module docstring)."""

    def __init__(self, code: str, open_from: float) -> None:
        self.code = code
        self.first_at = math.inf  # earliest occurred_at of its events
        self.last_at = -math.inf  # latest occurred_at of its events
        self.events = 0  # events recorded (its activity, for the exporter's location cap)
        self.open_from = open_from  # start of its first open bucket: bucket_start(wm)
        self.late: dict[str, int] = {}  # events counted late, by input topic
        self.skus: dict[str, SkuLocation] = {}
        self.book = ServiceBook()  # its orders, cancellations, dispatches, deliveries
        self.orders = OrderIndex(code)
        self.due = DueTotals()  # outcomes of orders forgotten, for the prior windows
        # Earliest instant from which its kept buckets are complete: -inf, unless it was
        # restored from a checkpoint that kept a shorter span (an upgrade, SPEC §4.3).
        self.history_from = -math.inf
        # Policies applied per SKU: sorted (time, event id, recommendation id or "").
        self.policies: dict[str, list[tuple[float, str, str]]] = {}
        self.columns = BucketColumns()  # per closed bucket: value, COGS, sales, expedite...
        self.open_dispatches: list[DispatchRecord] = []  # dispatches of the open buckets
        # Sales recorded in a closed bucket per dispatch event id ($): what a repricing
        # (its order arriving or changing) withdraws.
        self.dispatch_sales: dict[str, float] = {}
        self.forecasts = ForecastBook()
        self.planning = PlanningLog()
        self.receipts: LeadTimeBook[str] = LeadTimeBook()  # own receipts' lead times, per SKU
        self.counters = LocationCounters()  # lifetime counters (streams.core.counters)
        # Recorded, not settled yet, in processing order (see the module docstring).
        self.pending: list[tuple[Any, ...]] = []
        # Stockout counter (streams.core.counters): the latest inventory event time
        # processed, the order lines after it (they wait for it to catch up), and the
        # SKU-locations whose settled episodes may have grown since they were counted.
        self.inventory_seen = -math.inf
        self.unsettled: list[tuple[float, str]] = []  # heap of (time, sku)
        self._recount: set[str] = set()
        self.ctx: Context | None = None  # the engine's, set by it (not checkpointed)

    # -- checkpoints ----------------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        if self.pending:
            raise RuntimeError("settle() before checkpointing a location")
        state = dict(self.__dict__)
        del state["ctx"], state["pending"], state["_recount"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Checkpoints taken before the prior windows and cohorts (SPEC §4.3) lack these.
        state.setdefault("due", DueTotals())
        state.setdefault("history_from", -math.inf)
        state.setdefault("policies", {})
        self.__dict__.update(state)
        self.pending, self._recount, self.ctx = [], set(), None

    # -- clock ----------------------------------------------------------------------------

    def watermark(self, lateness: float) -> float:
        """Latest event time less the allowed lateness."""
        return self.last_at - lateness

    def count_late(self, topic: str) -> None:
        self.late[topic] = self.late.get(topic, 0) + 1

    def sku(self, sku: str) -> SkuLocation:
        """The SKU-location, created on first use."""
        found = self.skus.get(sku)
        if found is None:
            found = self.skus[sku] = SkuLocation(self.code, sku)
        return found

    @property
    def _ctx(self) -> Context:
        if self.ctx is None:
            raise RuntimeError(f"location {self.code} is not attached to an engine")
        return self.ctx

    # -- settling -------------------------------------------------------------------------

    def settle(self) -> None:
        """Hand the recorded events to their SKU-locations and books, in processing order.

        Runs before every read of the SKU-locations, orders, dispatches or counters,
        before a bucket closes and before a checkpoint.
        """
        if not self.pending:
            return
        pending, self.pending = self.pending, []
        for record in pending:
            tag = record[0]
            if tag == INVENTORY:
                self._settle_inventory(record[1], record[2], record[3], record[4], record[5])
            elif tag == PLACED:
                self._settle_placement(*record[1:])
            elif tag == DISPATCHED:
                self._settle_dispatch(record[1], record[2], record[3])
            elif tag == CANCELLED:
                self._settle_cancel(record[1], record[2])
            elif tag == APPLIED:
                self._settle_applied(record[1], record[2], record[3], record[4])
                insort(self.policies.setdefault(record[3], []), (record[1], record[2], record[5]))
            else:
                sl = self.sku(record[1])
                sl.receipt_supplier = latest(sl.receipt_supplier, (record[2], record[3], record[4]))
                sl.seen(record[2])
        recount, self._recount = self._recount, set()
        for sku in sorted(recount):
            self._count_episodes(self.skus[sku])

    # -- cohorts (streams.core.cohorts) ----------------------------------------------------

    def source_at(self, sku: str, t: float) -> str:
        """The `policy_source` of the SKU-location's policy in force at `t`."""
        return policy_source(self.policies.get(sku), t, self.planning.overridden)

    def by_cohort(self, sku: str, columns: ColumnSink | None = None) -> CohortColumns:
        """The location's columns (or `columns`) as the SKU-location adds to them: its value
        integral and COGS of a bucket also go to the cohort in force at the bucket's start."""
        into = self.columns if columns is None else columns
        applied = self.policies.get(sku)
        if not applied:
            return CohortColumns(into, _no_policy)
        size, overridden = self._ctx.size, self.planning.overridden
        return CohortColumns(into, lambda k: policy_source(applied, k * size, overridden))

    def _closed(self, sl: SkuLocation) -> SkuHistory:
        if sl.history is None:
            sl.history = SkuHistory()
        return sl.history

    # The stockout counter adds every increase of a SKU-location's settled episodes
    # (streams.core.counters), event by event. Counting each event would walk its
    # ledger each time; but only an inventory event at or before the latest inventory
    # time (or a late one), or a placement displacing another, can *lower* a settled
    # count: those count right before and after themselves, every other event only
    # marks its SKU-locations for the recount at the end of the settle, which then adds
    # the same increases.

    def _settle_inventory(
        self, sku: str, entry: Entry, supplier: str | None, sku_class: str | None, late: bool
    ) -> None:
        sl = self.sku(sku)
        t = entry[0]
        if entry[1] == SNAPSHOT:
            self.counters.snapshot(sl.known_cost, entry)
        behind = late or t <= self.inventory_seen
        if behind:
            self._count_episodes(sl)  # what it had before this event may take back
        if late:
            ctx = self._ctx
            if entry[1] == SNAPSHOT:
                apply_late_snapshot(
                    sl, entry, supplier, sku_class, self.open_from, ctx.size, self.by_cohort(sku)
                )
            else:
                apply_late_adjustment(sl, entry, self.open_from, ctx.size, self.by_cohort(sku))
        elif sl.record_inventory(entry, supplier, sku_class):
            # A new first snapshot: its cost prices what was priced at the old one.
            sl.reprice_first(entry[5], self.by_cohort(sku))
        if behind:
            self._count_episodes(sl)
        if t <= self.inventory_seen:
            return
        self.inventory_seen = t
        # Order lines up to the new inventory time are settled now.
        unsettled, recount = self.unsettled, self._recount
        while unsettled and unsettled[0][0] <= t:
            recount.add(heapq.heappop(unsettled)[1])
        recount.add(sku)

    def _count_episodes(self, sl: SkuLocation) -> None:
        """Count the stockout episodes of `sl` settled since it was last counted.

        Episodes of closed buckets are settled: they are final.
        """
        ledger = sl.ledger
        if ledger is not None and not ledger.still():
            ledger.build()
            settled = ledger.settled_episodes(self.inventory_seen)
        else:
            settled = sl.base.episodes  # nothing open can start one
        sl.counted_episodes = self.counters.episodes(sl.counted_episodes, settled)
        self._recount.discard(sl.sku)

    def _settle_placement(
        self,
        order: OrderRecord,
        kept: bool,
        first: bool,
        earlier: tuple[DispatchRecord, ...],
        displaced: OrderRecord | None,
        cancelled: bool,
        late: bool,
    ) -> None:
        skus, t, open_from = self.skus, order.placed_at, self.open_from
        for _line_id, sku, _quantity, _price in order.lines:
            sl = skus.get(sku) or self.sku(sku)
            sl.seen(t)
            if t > sl.last_demand_at:  # any placement shows demand (obsolescence)
                sl.last_demand_at = t
        if first:
            counters = self.counters
            counters.ordered.add(math.fsum([line[2] for line in order.lines]))
            for dispatch in earlier:  # dispatched before the order was known
                counters.sales.add(priced(dispatch, order))
        if not kept:
            return  # a later placement of a kept order id changes nothing else
        size = self._ctx.size
        withdrawn: list[str] = []
        if displaced is not None:
            # The displaced placement's lines leave the demand (and the open walks).
            withdrawn = sorted({line[1] for line in displaced.lines})
            if displaced.placed_at >= open_from:
                gone = (displaced.placed_at, ORDER_LINE, displaced.event_id, 0.0, 0.0, 0.0)
                for sku in withdrawn:
                    sl = skus[sku]
                    if sl.ledger is not None:
                        sl.ledger.remove(gone)
                    sl.withdraw(displaced)
            elif not cancelled:
                k = bucket_index(displaced.placed_at, size)
                for _line_id, sku, quantity, _price in displaced.lines:
                    self._closed(skus[sku]).add(DEMAND, k, -quantity)
        trigger = (t, ORDER_LINE, order.event_id, 0.0, 0.0, 0.0)
        settled = t <= self.inventory_seen
        for position, (_line_id, sku, quantity, _price) in enumerate(order.lines):
            sl = skus[sku]
            sl.accept_line(order, position, quantity)
            if late:
                # Its bucket has closed: its demand lands there; it starts no episode.
                if not cancelled:
                    self._closed(sl).add(DEMAND, bucket_index(t, size), quantity)
                continue
            # An arrival of demand at the shelf: a possible stockout start, counted once
            # the location's inventory reaches it.
            sl.add_open_line(order, position, quantity, trigger)
            if settled:
                self._recount.add(sku)  # an order line can only add episodes
            else:
                heapq.heappush(self.unsettled, (t, sku))
        for sku in withdrawn:  # the withdrawn lines left the open walks: that may lower them
            if displaced is not None and displaced.placed_at >= open_from:
                self._count_episodes(skus[sku])
        self.orders.add(order)
        self._reprice_closed(order)

    def _reprice_closed(self, order: OrderRecord) -> None:
        """Reprice the closed-bucket sales of the order's dispatches at its kept placement."""
        book, recorded = self.book, self.dispatch_sales
        for dispatch in book.dispatches.get(order.key, ()):
            old = recorded.get(dispatch.event_id)
            if old is None:
                continue  # open (priced when read) or not settled yet
            new = book.sales(dispatch)
            if new != old:
                k = bucket_index(dispatch.dispatched_at, self._ctx.size)
                self.columns.add(SALES, k, new)
                self.columns.add(SALES, k, -old)
                recorded[dispatch.event_id] = new

    def _settle_cancel(self, placement: OrderRecord | None, already: bool) -> None:
        if placement is None or already:
            return
        skus = self.skus
        if placement.placed_at >= self.open_from:
            for sku in sorted({line[1] for line in placement.lines}):
                skus[sku].withdraw(placement)
            return
        k = bucket_index(placement.placed_at, self._ctx.size)
        for _line_id, sku, quantity, _price in placement.lines:
            self._closed(skus[sku]).add(DEMAND, k, -quantity)

    def _settle_dispatch(
        self, dispatch: DispatchRecord, placement: OrderRecord | None, late: bool
    ) -> None:
        skus, counters = self.skus, self.counters
        t, event_id = dispatch.dispatched_at, dispatch.event_id
        size = self._ctx.size
        k = bucket_index(t, size)
        for _line_id, sku, quantity in dispatch.lines:
            sl = skus.get(sku) or self.sku(sku)
            counters.dispatch_line(sl.known_cost, quantity)
            if late:
                sl.seen(t)
                self.by_cohort(sku).add(COGS, k, quantity * self._closed_cost(sl, t))
                self._closed(sl).add(SHIPPED, k, quantity)
            else:
                sl.record_line((t, event_id, quantity))
        counters.shipped.add(math.fsum([line[2] for line in dispatch.lines]))
        counters.expedite.add(dispatch.expedite_cost)
        if placement is not None:
            counters.sales.add(priced(dispatch, placement))
        if late:
            sales = self.book.sales(dispatch)
            self.columns.add(SALES, k, sales)
            self.columns.add(EXPEDITE, k, dispatch.expedite_cost)
            self.dispatch_sales[event_id] = sales
        else:
            self.open_dispatches.append(dispatch)

    def _closed_cost(self, sl: SkuLocation, t: float) -> float:
        """Unit cost at `t` in a closed bucket (between two snapshots of one closed bucket, the
        cost at its end); before any snapshot, the first snapshot's."""
        history = sl.history
        cost = history.cost_at(t, self._ctx.size)[0] if history is not None else math.nan
        if cost == cost:
            return cost
        if sl.base.cost is not None:
            first = history.first_cost if history is not None else math.nan
            return first if first == first else sl.base.cost
        return sl.first_price

    def _settle_applied(self, t: float, event_id: str, sku: str, late: bool) -> None:
        planning = self.planning
        if not late:
            planning.apply_open(t, event_id, sku)
            return
        ctx = self._ctx
        planning.apply_closed(t, sku, ctx.size)
        # The first-per-bucket record cannot tell a later application in a disruption's own
        # bucket: a replan it makes there is frozen now.
        k = bucket_index(t, ctx.size)
        sl = self.skus.get(sku)
        supplier = sl.supplier if sl is not None else None
        if sl is None:
            return  # not a SKU-location of this location: covered by nothing
        resolved = ctx.disruptions.resolved
        for record in ctx.disruptions.reported():
            if bucket_index(record.reported_at, ctx.size) != k or t < record.reported_at:
                continue
            until = resolved.get(record.disruption_id)
            if until is not None and t >= until:
                continue
            if record.covers(self.code, sku, supplier):
                frozen = planning.frozen
                frozen[record.disruption_id] = min(t, frozen.get(record.disruption_id, t))

    def forget_unsettled(self, cut: float) -> int:
        """Drop the order lines before `cut` still waiting for the inventory feed; how many."""
        kept = [line for line in self.unsettled if line[0] >= cut]
        dropped = len(self.unsettled) - len(kept)
        if dropped:
            heapq.heapify(kept)
            self.unsettled = kept
        return dropped

    def recount(self, sl: SkuLocation) -> None:
        """Count the episodes `sl` settled (after a fold made some final)."""
        self._count_episodes(sl)
