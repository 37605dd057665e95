"""Everything the engine keeps about one SKU at one location.

Recording (`add_*`, `accept_order`, ...) only appends; `build()` brings the
derived series (inventory walk, COGS, demand) up to date before a report.
"""

from __future__ import annotations

import math

from streams.core.counters import KnownCost
from streams.core.demand import DemandEntry, DemandSeries
from streams.core.orders import OrderRecord, ServiceBook
from streams.core.position import Entry, InventoryLedger, Line

Latest = tuple[float, str, str]
"""`(time, event_id, value)`: the max of these is the latest value, whatever the arrival order."""


def latest(kept: Latest | None, candidate: Latest) -> Latest:
    """The later of two stamped values (time, then event id; one event has one value)."""
    return candidate if kept is None or candidate > kept else kept


class SkuLocation:
    """Raw state and derived series of one SKU-location.

    There is one for every SKU-location an event names (tens of thousands), so
    construction sets up only what recording needs: the demand series and the
    order-id sets are allocated by the first `build()`, which every report and
    prune runs before reading.
    """

    __slots__ = (
        "_built", "_cancelled", "_demand_reset", "_new_lines", "counted_episodes", "demand",
        "known", "known_cost", "last_event_at", "ledger", "location", "order_ids",
        "receipt_supplier", "revalued_from", "sku", "sku_class", "snapshot_supplier", "strategic",
    )  # fmt: skip

    def __init__(self, location: str, sku: str) -> None:
        self.location = location
        self.sku = sku
        self.ledger = InventoryLedger()
        self.known_cost = KnownCost()  # unit cost as processed, for the COGS counter
        self.counted_episodes = 0  # settled stockout episodes when last counted
        self.known = False  # seen in an inventory event
        self.snapshot_supplier: Latest | None = None
        self.receipt_supplier: Latest | None = None
        self.sku_class: Latest | None = None
        self.last_event_at = -math.inf
        # Recorded since the last build: accepted order lines, cancelled orders.
        self._new_lines: list[tuple[OrderRecord, DemandEntry]] = []
        self._cancelled: tuple[OrderRecord, ...] = ()
        self._demand_reset = False
        self.revalued_from = math.inf  # earliest value change since the last report
        self._built = False

    def _allocate(self) -> None:
        """Set up the derived state (at the first build)."""
        self._built = True
        self.demand = DemandSeries()
        self.order_ids: set[str] = set()  # accepted orders with a line for this SKU
        self.strategic: set[str] = set()  # strategic orders that may still be open

    @property
    def supplier(self) -> str | None:
        """The latest `supplier_id` seen in a snapshot or a receipt of it (None: unknown).

        Latest by (time, event_id) over both kinds together (SPEC §4, coverage).
        """
        snapshot, receipt = self.snapshot_supplier, self.receipt_supplier
        if snapshot is None or (receipt is not None and receipt > snapshot):
            return receipt[2] if receipt is not None else None
        return snapshot[2]

    def seen(self, t: float) -> None:
        """Note an event of this SKU-location (inventory, order line, dispatch line, receipt)."""
        if t > self.last_event_at:
            self.last_event_at = t

    def record_inventory(self, entry: Entry, supplier: str | None, sku_class: str | None) -> None:
        """A snapshot (with its supplier and class, when named) or an adjustment."""
        t = entry[0]
        self.known = True
        self.ledger.add(entry)
        if t > self.last_event_at:
            self.last_event_at = t
        if supplier is not None:
            self.snapshot_supplier = latest(self.snapshot_supplier, (t, entry[2], supplier))
        if sku_class is not None:
            self.sku_class = latest(self.sku_class, (t, entry[2], sku_class))

    def accept_line(
        self, order: OrderRecord, position: int, quantity: float, trigger: Entry
    ) -> None:
        """Line `position` of the kept placement of an order is for this SKU.

        `trigger` is the order-line entry of the placement (a possible stockout start).
        """
        t = order.placed_at
        if t > self.last_event_at:
            self.last_event_at = t
        self.ledger.add(trigger)
        self._new_lines.append((order, (t, order.event_id, position, quantity)))

    def record_line(self, line: Line) -> None:
        """A dispatch line `(time, event_id, quantity)` of this SKU."""
        if line[0] > self.last_event_at:
            self.last_event_at = line[0]
        self.ledger.add_line(line)

    def reset_demand(self) -> None:
        """A re-publication displaced an order placement: rebuild demand from scratch."""
        self._demand_reset = True

    def cancel(self, order: OrderRecord) -> None:
        """The order was cancelled: its lines leave the demand at the next build."""
        self._cancelled = (*self._cancelled, order)  # rare: a tuple until then costs nothing

    def _entries(self, order: OrderRecord) -> list[DemandEntry]:
        return [
            (order.placed_at, order.event_id, position, line[2])
            for position, line in enumerate(order.lines)
            if line[1] == self.sku
        ]

    def _counts(self, order: OrderRecord | None, book: ServiceBook) -> bool:
        """Whether an order is the kept, non-cancelled placement of its id."""
        return (
            order is not None
            and order.key not in book.cancelled
            and book.orders.get(order.key) is order
        )

    def build(self, book: ServiceBook) -> None:
        """Bring the inventory walk, COGS and demand series up to date."""
        if not self._built:
            self._allocate()
        self.ledger.build()
        self.revalued_from = min(self.revalued_from, self.ledger.take_revalued_from())
        new_lines = self._new_lines
        if new_lines:
            # Noted here, where the sets exist (the first build allocates them).
            for placed, _entry in new_lines:
                self.order_ids.add(placed.order_id)
                if placed.customer_tier == "strategic":
                    self.strategic.add(placed.order_id)
        if self._demand_reset:
            entries: list[DemandEntry] = []
            for order_id in sorted(self.order_ids):
                order = book.orders.get((self.location, order_id))
                if self._counts(order, book):
                    entries.extend(self._entries(order))  # type: ignore[arg-type]
            self.demand.replace_all(entries)
        else:
            if new_lines:
                self.demand.extend([e for o, e in new_lines if self._counts(o, book)])
            for order in self._cancelled:
                self.demand.remove(self._entries(order))
        if new_lines:
            self._new_lines = []
        self._cancelled = ()
        self._demand_reset = False

    def has_open_strategic_orders(self, book: ServiceBook) -> bool:
        """Whether a non-cancelled strategic order has a line of this SKU not yet fully shipped.

        Orders found filled, cancelled or gone are dropped from the candidates:
        dispatches only add and cancellations are final, and a re-publication
        of the order adds it back.
        """
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

    def prune(self, cut: float, demand_cut: float) -> int:
        """Forget inventory before `cut` and demand before `demand_cut`; returns items dropped."""
        return self.ledger.prune(cut) + self.demand.prune(demand_cut)
