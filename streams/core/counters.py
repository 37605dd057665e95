"""Lifetime counters of a location: facts counted as they are processed (SPEC §4).

Every `_total` series only goes up, because Prometheus reads a decrease as a
counter reset (and `rate()` on a board then spikes). So a counter is not
recomputed from the set of events, as the windowed gauges are: each event adds
what it brings at the moment it is processed, and a late or out-of-order event
may add but never takes anything back.

- units ordered: the lines of the first placement of an order id processed;
- units shipped, expedite cost: every dispatch;
- sales: dispatched quantity x unit price of the order line, from the first
  placement of the order processed; a dispatch processed before its order adds
  its sales when that placement is processed;
- COGS: dispatched quantity x the SKU-location's unit cost *known when the
  dispatch is processed* (the cost of its latest snapshot processed so far); a
  dispatch of a SKU-location with no snapshot yet is priced at the first one;
- stockouts: episodes of the event-time inventory walk, counted as they start
  once the location's inventory is known up to their start (they are *settled*:
  every inventory event of the location up to that time has been processed). An
  episode started by an inventory event settles at once; one started by an order
  line, when an inventory event of the location at or after it is processed. A
  late event that removes a counted episode from the walk never takes it back.

All of it is a function of the processing order, never of when figures are read.
The worker rebuilds its engine by replaying the stored events in store order, so a
restart reproduces every counter exactly. And as long as each topic delivers a
location's events in time order, the counters do not depend on how the topics
were interleaved either: the settling rule waits for the inventory of the
location to catch up with an order line before judging it.
"""

from __future__ import annotations

from collections.abc import Iterable

from streams.core.ratios import ExactSum
from streams.core.walk import Entry


class KnownCost:
    """A SKU-location's unit cost as known from the snapshots processed so far ($/unit).

    The cost of its latest snapshot (by time, then event id): a late, older snapshot
    does not replace it. Dispatched units processed before any snapshot wait in
    `uncosted` for the first one.
    """

    __slots__ = ("cost", "stamp", "uncosted")

    def __init__(self) -> None:
        self.stamp: tuple[float, str] | None = None  # latest snapshot processed
        self.cost = 0.0
        self.uncosted: list[float] | None = None  # dispatched units waiting for a first cost

    def learn(self, t: float, event_id: str, cost: float) -> list[float]:
        """Note a snapshot's unit cost; returns the units that waited for a first cost."""
        stamp = (t, event_id)
        if self.stamp is not None and stamp <= self.stamp:
            return []
        self.stamp, self.cost = stamp, cost
        waiting, self.uncosted = self.uncosted, None  # only the first cost finds any
        return waiting or []


class LocationCounters:
    """The lifetime counters of one location, added to as events are processed.

    Money in dollars, quantities in units. Sums are exact (`ExactSum`), so a
    counter is the correctly rounded total of the facts it counted.
    """

    __slots__ = ("cogs", "expedite", "ordered", "sales", "shipped", "stockouts")

    def __init__(self) -> None:
        self.ordered = ExactSum()
        self.shipped = ExactSum()
        self.sales = ExactSum()
        self.cogs = ExactSum()
        self.expedite = ExactSum()
        self.stockouts = 0

    def snapshot(self, known: KnownCost, entry: Entry) -> None:
        """A snapshot, processed now: its cost prices the dispatches that waited for one."""
        cost = entry[5]
        for units in known.learn(entry[0], entry[2], cost):
            self.cogs.add(units * cost)

    def dispatch_line(self, known: KnownCost, units: float) -> None:
        """A dispatched line, priced at the unit cost known now (or when one is known)."""
        if known.stamp is None:
            if known.uncosted is None:
                known.uncosted = []
            known.uncosted.append(units)
        else:
            self.cogs.add(units * known.cost)

    def episodes(self, before: int, now: int) -> int:
        """Count the settled episodes a SKU-location gained (`now` - `before` when > 0).

        Returns `now`, the new baseline: a late event that takes an episode back lowers
        the baseline, never the counter.
        """
        if now > before:
            self.stockouts += now - before
        return now

    def totals(self) -> Iterable[tuple[str, float]]:
        """`(metric name, total)` of each counter, in catalog order."""
        return (
            ("inventory_units_ordered_total", self.ordered.total()),
            ("inventory_units_shipped_total", self.shipped.total()),
            ("inventory_sales_dollars_total", self.sales.total()),
            ("inventory_cogs_dollars_total", self.cogs.total()),
            ("inventory_expedite_cost_dollars_total", self.expedite.total()),
            ("inventory_stockouts_total", float(self.stockouts)),
        )
