"""Everything the engine keeps about one SKU at one location.

Its current position is the walk state at the start of the location's open
buckets (its *base*) plus the raw entries of the open buckets (the
`InventoryLedger`, which exists only while there are any). Its closed buckets
are a few numbers per active bucket (`SkuHistory`); the location totals of
value, COGS and stockouts are the location's (`BucketColumns`). So the state
grows with buckets and with the orders in the window, never with the number of
inventory events.

Recording only appends; `build()` brings the walk and the open demand up to
date before a report, and `fold()` closes buckets.
"""

from __future__ import annotations

import math

from streams.core.columns import COGS, INTEGRAL, ColumnSink
from streams.core.counters import KnownCost
from streams.core.demand import DemandEntry, DemandSeries
from streams.core.history import SHIPPED, SkuHistory
from streams.core.orders import OrderRecord, ServiceBook
from streams.core.position import Entry, InventoryLedger, Line, walk_value
from streams.core.walk import SNAPSHOT, Walk
from streams.core.windows import bucket_index

Latest = tuple[float, str, str]
"""`(time, event_id, value)`: the max of these is the latest value, whatever the arrival order."""

Key = tuple[float, int, str]
"""`(time, kind, event_id)` of an inventory entry: its place in the walk."""

NAN = math.nan


def latest(kept: Latest | None, candidate: Latest) -> Latest:
    """The later of two stamped values (time, then event id; one event has one value)."""
    return candidate if kept is None or candidate > kept else kept


class SkuLocation:
    """Position, open entries and closed history of one SKU-location.

    There is one for every SKU-location an event names (tens of thousands), so
    what most of them never need (ledger, history, demand, order-id sets) is
    allocated on first use.
    """

    __slots__ = (
        "_base", "_new_lines", "_withdrawn", "counted_episodes", "demand",
        "first_price", "first_snapshot", "history", "known", "known_cost", "last_demand_at",
        "last_event_at", "latest_inventory", "ledger", "location",
        "receipt_supplier", "sku", "sku_class", "snapshot_supplier", "strategic",
    )  # fmt: skip

    def __init__(self, location: str, sku: str) -> None:
        self.location = location
        self.sku = sku
        self._base: Walk | None = None  # the base while there is no ledger
        self.ledger: InventoryLedger | None = None
        self.history: SkuHistory | None = None
        self.demand: DemandSeries | None = None
        self.known_cost = KnownCost()  # unit cost as processed, for the COGS counter
        self.counted_episodes = 0  # settled stockout episodes when last counted
        self.known = False  # seen in an inventory event
        self.snapshot_supplier: Latest | None = None
        self.receipt_supplier: Latest | None = None
        self.sku_class: Latest | None = None
        self.last_event_at = -math.inf
        self.latest_inventory: Key | None = None  # latest inventory entry applied
        self.last_demand_at = -math.inf  # latest order line placed for it (any placement)
        self.strategic: set[str] | None = None  # strategic orders that may still be open
        # Recorded since the last build: accepted open order lines, and open placements
        # whose lines leave the demand (cancelled, or displaced by a re-publication).
        self._new_lines: list[tuple[OrderRecord, DemandEntry]] | None = None
        self._withdrawn: tuple[OrderRecord, ...] = ()
        # While no snapshot is in its base: the cost its closed values and dispatch lines
        # are priced at (the first snapshot's, 0 while there is none), and that snapshot.
        self.first_price = 0.0
        self.first_snapshot: tuple[Key, float] | None = None

    # -- position -------------------------------------------------------------------------

    @property
    def base(self) -> Walk:
        """Walk state at the start of the location's first open bucket."""
        if self.ledger is not None:
            return self.ledger.base
        if self._base is None:
            self._base = Walk()
        return self._base

    def shelf(self) -> InventoryLedger:
        """The open-bucket ledger, created on first use."""
        if self.ledger is None:
            self.ledger = InventoryLedger(self.base)
            self._base = None
        return self.ledger

    @property
    def current(self) -> Walk:
        """State after every event seen (after `build`)."""
        return self.ledger.current if self.ledger is not None else self.base

    @property
    def unit_cost(self) -> float:
        """Unit cost of the latest snapshot (the first one's before any; 0 when there is none)."""
        if self.ledger is not None:
            return self.ledger.unit_cost
        cost = self.base.cost
        return cost if cost is not None else 0.0

    @property
    def value(self) -> float:
        """Current value `max(on_hand, 0) * unit_cost` ($)."""
        walk = self.current
        return walk.on_hand * self.unit_cost if walk.on_hand > 0 else 0.0

    @property
    def supplier(self) -> str | None:
        """The latest `supplier_id` seen in a snapshot or a receipt of it (None: unknown).

        Latest by (time, event_id) over both kinds together (SPEC §4, coverage).
        """
        snapshot, receipt = self.snapshot_supplier, self.receipt_supplier
        if snapshot is None or (receipt is not None and receipt > snapshot):
            return receipt[2] if receipt is not None else None
        return snapshot[2]

    # -- recording ------------------------------------------------------------------------

    def seen(self, t: float) -> None:
        """Note an event of this SKU-location (inventory, order line, dispatch line, receipt)."""
        if t > self.last_event_at:
            self.last_event_at = t

    def note_inventory(self, entry: Entry, supplier: str | None, sku_class: str | None) -> None:
        """What any applied inventory event tells: known, latest, supplier and class."""
        t = entry[0]
        self.known = True
        key = (t, entry[1], entry[2])
        if self.latest_inventory is None or key > self.latest_inventory:
            self.latest_inventory = key
        if t > self.last_event_at:
            self.last_event_at = t
        if supplier is not None:
            self.snapshot_supplier = latest(self.snapshot_supplier, (t, entry[2], supplier))
        if sku_class is not None:
            self.sku_class = latest(self.sku_class, (t, entry[2], sku_class))

    def record_inventory(self, entry: Entry, supplier: str | None, sku_class: str | None) -> bool:
        """A snapshot or adjustment of an open bucket.

        Returns True when it is a new first snapshot while no cost is known in the
        base: closed values and dispatch lines must be priced at its cost.
        """
        self.note_inventory(entry, supplier, sku_class)
        self.shelf().add(entry)
        if entry[1] != SNAPSHOT or self.base.cost is not None:
            return False
        key = (entry[0], entry[1], entry[2])
        if self.first_snapshot is None or key < self.first_snapshot[0]:
            self.first_snapshot = (key, entry[5])
            return True
        return False

    def accept_line(self, order: OrderRecord, position: int, quantity: float) -> None:
        """Line `position` of the kept placement of an order is for this SKU (bookkeeping)."""
        t = order.placed_at
        if t > self.last_event_at:
            self.last_event_at = t
        if t > self.last_demand_at:
            self.last_demand_at = t
        if order.customer_tier == "strategic":
            if self.strategic is None:
                self.strategic = set()
            self.strategic.add(order.order_id)

    def add_open_line(
        self, order: OrderRecord, position: int, quantity: float, trigger: Entry
    ) -> None:
        """The line is in an open bucket: a possible stockout start and open demand."""
        self.shelf().add(trigger)
        if self._new_lines is None:
            self._new_lines = []
        self._new_lines.append((order, (order.placed_at, order.event_id, position, quantity)))

    def record_line(self, line: Line) -> None:
        """A dispatch line `(time, event_id, quantity)` of an open bucket."""
        self.seen(line[0])
        self.shelf().add_line(line)

    def withdraw(self, order: OrderRecord) -> None:
        """An open placement was cancelled or displaced: its lines leave the open demand at the
        next build (a displacing placement comes in as a new line)."""
        self._withdrawn = (*self._withdrawn, order)  # rare: a tuple until then costs nothing

    def entries_of(self, order: OrderRecord) -> list[DemandEntry]:
        return [
            (order.placed_at, order.event_id, position, line[2])
            for position, line in enumerate(order.lines)
            if line[1] == self.sku
        ]

    @staticmethod
    def _counts(order: OrderRecord | None, book: ServiceBook) -> bool:
        """Whether an order is the kept, non-cancelled placement of its id."""
        return (
            order is not None
            and order.key not in book.cancelled
            and book.orders.get(order.key) is order
        )

    # -- building -------------------------------------------------------------------------

    def build(self, book: ServiceBook, open_from: float) -> None:
        """Bring the open walk, COGS and open demand up to date."""
        if self.ledger is not None:
            self.ledger.build()
        if self._new_lines or self._withdrawn:
            self._build_demand(book, open_from)

    def quiet_value(self) -> float | None:
        """The value of a SKU-location with nothing in its open buckets (it stood still over
        the closing buckets); None when it has open entries or demand to fold."""
        if self.ledger is not None or self.demand is not None or self._new_lines or self._withdrawn:
            return None
        base = self._base
        if base is None or base.on_hand <= 0 or base.cost is None:
            return 0.0 if base is None or base.on_hand <= 0 else None
        return base.on_hand * base.cost

    def _build_demand(self, book: ServiceBook, open_from: float) -> None:
        if self.demand is None:
            self.demand = DemandSeries()
        if self._new_lines:
            self.demand.extend([e for o, e in self._new_lines if self._counts(o, book)])
        for order in self._withdrawn:
            self.demand.remove(self.entries_of(order))
        self._new_lines = None
        self._withdrawn = ()

    # -- closing buckets ------------------------------------------------------------------

    def fold(
        self, origin: float, cut: float, size: float, columns: ColumnSink, book: ServiceBook
    ) -> tuple[float, int]:
        """Close the buckets `[origin, cut)`: their aggregates go to `columns` and the history.

        Returns `(value, starts)`: the constant value of a SKU-location without open
        entries before the cut (the caller adds it for every closed bucket, summed over
        such SKU-locations at once; 0 otherwise) and the stockout episodes folded.
        """
        new_lines = self._new_lines
        if (
            self.demand is None
            and not self._withdrawn
            and new_lines
            and all(entry[0] < cut for _order, entry in new_lines)
        ):
            # Its open demand lies in the closing buckets only: sum it directly (what a
            # series built and folded would give, `math.fsum` being order-independent).
            parts: dict[int, list[float]] = {}
            for order, entry in new_lines:
                if self._counts(order, book):
                    parts.setdefault(bucket_index(entry[0], size), []).append(entry[3])
            self._new_lines = None
            demand = {k: math.fsum(v) for k, v in parts.items()}
        else:
            if new_lines or self._withdrawn:
                self._build_demand(book, origin)
            demand = self.demand.fold(cut, size) if self.demand else {}
        if self.demand is not None and not len(self.demand):
            self.demand = None
        k0 = bucket_index(origin, size)
        count = bucket_index(cut, size) - k0
        ledger = self.ledger
        had_cost = self.base.cost is not None
        if ledger is None or ledger.empty:
            if ledger is not None:
                self._base, self.ledger = ledger.base, None
            return self._fold_quiet(k0, count, size, demand), 0
        folded = ledger.fold(origin, cut, size)
        first_cost = self.first_snapshot[1] if self.first_snapshot is not None else 0.0
        if ledger.empty:
            self._base, self.ledger = ledger.base, None
        history = self.history
        for j in range(count):
            k = k0 + j
            columns.add(INTEGRAL, k, folded.integral[j])
            columns.add(COGS, k, folded.cogs[j])
            columns.add_starts(k, folded.starts[j])
            units, shipped, first = demand.get(k, 0.0), folded.shipped[j], folded.snap_first[j]
            if units or shipped or first == first:
                if history is None:
                    history = self.history = SkuHistory()
                history.append(k, units, shipped, first, folded.snap_last[j], folded.cost_end[j])
        if self.base.cost is not None:
            if not had_cost:  # its first snapshot is in closed history now: the cost is final
                if history is None:
                    history = self.history = SkuHistory()
                history.first_cost = first_cost
                history.drop_units()
                self.first_snapshot = None
        elif folded.units is not None:
            for j, unit_seconds in enumerate(folded.units):
                if unit_seconds:
                    if history is None:
                        history = self.history = SkuHistory()
                    history.add_units(k0 + j, unit_seconds)
        return 0.0, sum(folded.starts)

    def skip_to(self, keep: float, size: float, book: ServiceBook) -> int:
        """Fold what is open before `keep` into the base without bucket totals (a watermark
        that jumped past the horizon: no window reads those buckets); returns the stockout
        episodes started there."""
        if self._new_lines or self._withdrawn:
            self._build_demand(book, keep)
        if self.demand is not None:
            self.demand.fold(keep, size)
            if not len(self.demand):
                self.demand = None
        ledger = self.ledger
        if ledger is None:
            return 0
        had_cost = ledger.base.cost is not None
        started = ledger.skip_to(keep)
        if ledger.empty:
            self._base, self.ledger = ledger.base, None
        if not had_cost and self.base.cost is not None:
            if self.first_snapshot is not None and self.history is not None:
                self.history.first_cost = self.first_snapshot[1]
            if self.history is not None:
                self.history.drop_units()
            self.first_snapshot = None
        return started

    def _fold_quiet(self, k0: int, count: int, size: float, demand: dict[int, float]) -> float:
        """Fold buckets in which nothing but demand happened: the value stood still."""
        base = self.base
        if demand:
            if self.history is None:
                self.history = SkuHistory()
            cost = base.cost if base.cost is not None else NAN
            for k in sorted(demand):
                self.history.append(k, demand[k], 0.0, NAN, NAN, cost)
        if base.cost is None:
            if base.on_hand > 0:
                if self.history is None:
                    self.history = SkuHistory()
                for j in range(count):
                    self.history.add_units(k0 + j, base.on_hand * size)
            return 0.0
        return walk_value(base, 0.0)

    # -- pricing before the first snapshot ------------------------------------------------

    def reprice_first(self, cost: float, columns: ColumnSink) -> None:
        """The first snapshot's cost is now `cost`: reprice what was priced at the old one.

        Every closed value and dispatch line of a SKU-location without a snapshot in its
        base was priced at `first_price`; each is withdrawn and added back at `cost`.
        """
        old = self.first_price
        if cost == old:
            return
        history = self.history
        if history is not None:
            for k, unit_seconds in history.unpriced_units():
                columns.add(INTEGRAL, k, unit_seconds * cost)
                columns.add(INTEGRAL, k, -(unit_seconds * old))
            for k, shipped in history.all(SHIPPED):
                columns.add(COGS, k, shipped * cost)
                columns.add(COGS, k, -(shipped * old))
        self.first_price = cost

    # -- service --------------------------------------------------------------------------

    def has_open_strategic_orders(self, book: ServiceBook) -> bool:
        """Whether a non-cancelled strategic order has a line of this SKU not yet fully shipped.

        Orders found filled, cancelled or gone are dropped from the candidates:
        dispatches only add and cancellations are final, and a re-publication
        of the order adds it back.
        """
        if not self.strategic:
            return False
        for order_id in sorted(self.strategic):
            key = (self.location, order_id)
            order = book.orders.get(key)
            outcome = book.outcome(key)
            if (
                order is None
                or outcome is None
                or order.customer_tier != "strategic"
                or self.sku not in outcome.unfilled_skus
            ):
                self.strategic.discard(order_id)
                continue
            return True
        return False
