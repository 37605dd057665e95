"""Service KPIs: the orders due in a window and how they were served.

Population: orders of the location whose `promised_at` is in the window
(`[start, wm]`) and that were not cancelled. Fill rate = units shipped (capped per line) ÷ units
ordered; line fill = lines filled ÷ lines; OTIF = orders on time in full ÷
orders. Totals are kept per `(region, channel, customer_tier)` group; the
location total is the sum of its groups (in group order, so it does not depend
on the order events arrived in).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Any

from streams.core.orders import Group, OrderOutcome, OrderRecord, ServiceBook
from streams.core.ratios import ExactSum


@dataclass(slots=True)
class ServiceTotals:
    """Service counts of a population of orders (fill rate, line fill, OTIF)."""

    ordered: float = 0.0
    shipped: float = 0.0
    lines: int = 0
    lines_filled: int = 0
    orders: int = 0
    otif: int = 0

    def merge(self, other: ServiceTotals) -> None:
        self.ordered += other.ordered
        self.shipped += other.shipped
        self.lines += other.lines
        self.lines_filled += other.lines_filled
        self.orders += other.orders
        self.otif += other.otif


@dataclass(slots=True)
class Population:
    """Orders due in a window: totals per (region, channel, tier) and for the location."""

    groups: dict[Group, ServiceTotals] = field(default_factory=dict)
    total: ServiceTotals = field(default_factory=ServiceTotals)


class DueTotals:
    """Service totals of orders that left the kept book, by the bucket of their `promised_at`.

    An order is forgotten once it is older than the longest window (`streams.core.pruning`);
    its outcome then is final and lands here, so that a prior window (SPEC §4.3) still
    reads the orders due in it. Units are exact sums: the same totals whatever the
    order and grouping in which orders were forgotten.
    """

    __slots__ = ("cells",)

    def __init__(self) -> None:
        # bucket -> [ordered (exact), shipped (exact), lines, lines filled, orders, otif]
        self.cells: dict[int, list[Any]] = {}

    def add(self, k: int, served: OrderOutcome) -> None:
        cell = self.cells.get(k)
        if cell is None:
            cell = self.cells[k] = [ExactSum(), ExactSum(), 0, 0, 0, 0]
        cell[0].add(served.ordered)
        cell[1].add(served.shipped)
        cell[2] += served.lines
        cell[3] += served.lines_filled
        cell[4] += 1
        cell[5] += served.on_time_in_full

    def totals(self, lo: int, hi: int) -> ServiceTotals:
        """Totals of the buckets `lo <= k < hi`."""
        cells = [self.cells[k] for k in sorted(self.cells) if lo <= k < hi]
        return ServiceTotals(
            math.fsum(c[0].total() for c in cells),
            math.fsum(c[1].total() for c in cells),
            sum(c[2] for c in cells),
            sum(c[3] for c in cells),
            sum(c[4] for c in cells),
            sum(c[5] for c in cells),
        )

    def prune(self, k: int) -> int:
        """Forget the buckets before `k`; returns how many."""
        old = [key for key in self.cells if key < k]
        for key in old:
            del self.cells[key]
        return len(old)

    def __getstate__(self) -> dict[int, list[Any]]:
        return {k: [c[0].partials(), c[1].partials(), *c[2:]] for k, c in self.cells.items()}

    def __setstate__(self, state: dict[int, list[Any]]) -> None:
        self.cells = {k: [ExactSum.of(c[0]), ExactSum.of(c[1]), *c[2:]] for k, c in state.items()}


Row = tuple[float, OrderRecord, OrderOutcome]
"""`(promised_at, order, outcome)` of a non-cancelled order."""


class OrderIndex:
    """The orders of one location by promised time, for the due-in-window population."""

    def __init__(self, location: str) -> None:
        self._location = location
        # (promised_at, order_id, event_id): plain values, untracked by the garbage collector.
        self._entries: list[tuple[float, str, str]] = []
        self._sorted = True
        self._times: list[float] = []

    def add(self, order: OrderRecord) -> None:
        """Index a kept placement (entries of displaced placements are skipped when read)."""
        self._entries.append((order.promised_at, order.order_id, order.event_id))
        self._sorted = False

    def _sort(self) -> None:
        if not self._sorted:
            self._entries.sort()
            self._times = [e[0] for e in self._entries]
            self._sorted = True

    def _kept(self, book: ServiceBook, order_id: str, event_id: str) -> OrderRecord | None:
        order = book.orders.get((self._location, order_id))
        return order if order is not None and order.event_id == event_id else None

    def rows(self, book: ServiceBook, lo: float, hi: float) -> list[Row]:
        """Non-cancelled orders promised in `[lo, hi]`, by promised time."""
        self._sort()
        kept, outcome, location = book.orders, book.outcome, self._location
        result: list[Row] = []
        for promised, order_id, event_id in self._entries[
            bisect_left(self._times, lo) : bisect_right(self._times, hi)
        ]:
            order = kept.get((location, order_id))
            if order is not None and order.event_id == event_id:
                served = outcome(order.key)
                if served is not None:
                    result.append((promised, order, served))
        return result

    def prune(self, book: ServiceBook) -> int:
        """Drop entries whose placement is no longer kept; returns how many."""
        self._sort()
        kept = [e for e in self._entries if self._kept(book, e[1], e[2]) is not None]
        dropped = len(self._entries) - len(kept)
        self._entries, self._sorted = kept, False
        return dropped


def population(rows: list[Row]) -> Population:
    """Service totals of the rows, per group and in total."""
    tallies: dict[Group, list[float]] = {}
    for _promised, order, served in rows:
        tally = tallies.get(order.group)
        if tally is None:
            tally = tallies[order.group] = [0.0, 0.0, 0, 0, 0, 0]
        tally[0] += served.ordered
        tally[1] += served.shipped
        tally[2] += served.lines
        tally[3] += served.lines_filled
        tally[4] += 1
        tally[5] += served.on_time_in_full
    result = Population()
    for group in sorted(tallies):
        o, s, lines, filled, orders, otif = tallies[group]
        totals = ServiceTotals(o, s, int(lines), int(filled), int(orders), int(otif))
        result.groups[group] = totals
        result.total.merge(totals)
    return result


def period_fill_rates(rows: list[Row], starts: list[float], period: float) -> list[float | None]:
    """Fill rate of the orders promised in each period `[start, start + period)`.

    `starts` are sorted, epoch-aligned period starts; None where no order is due.
    """
    ordered = [0.0] * len(starts)
    shipped = [0.0] * len(starts)
    if starts:
        first = starts[0]
        for promised, _order, served in rows:
            k = math.floor((promised - first) / period)
            # Guard the floor against rounding right at a period boundary.
            if first + k * period > promised:
                k -= 1
            elif first + (k + 1) * period <= promised:
                k += 1
            if 0 <= k < len(starts):
                ordered[k] += served.ordered
                shipped[k] += served.shipped
    return [s / o if o else None for o, s in zip(ordered, shipped, strict=True)]
