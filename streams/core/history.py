"""What one SKU-location keeps of its closed buckets: a few numbers per active bucket.

A record exists for a closed bucket in which the SKU-location had demand, a
dispatch or a snapshot; quiet buckets have none. Per record: units ordered
(non-cancelled demand, by order time), units dispatched, the times of the
bucket's first and last snapshot, and the unit cost in force at its end. That
is all the late-event rules need (`streams.core.late`): the unit cost at a time
in a closed bucket, the next snapshot after it, and the units to reprice. The
time integral of value, COGS and stockout starts are location totals
(`streams.core.columns`).

The numbers live in typed arrays (one per column, not walked by the garbage
collector, pickled as raw bytes). Demand and dispatched units written after
their bucket closed (a cancellation, a late order or dispatch) go to exact
sums (`fixes`), so that they do not depend on the order those events came in.

While the SKU-location has no snapshot anywhere (no unit cost yet), the
unit-seconds of positive on_hand of its closed buckets are kept as well
(`units`): the first snapshot's cost prices them.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from streams.core.ratios import ExactSum
from streams.core.windows import bucket_index

NAN = math.nan
DEMAND, SHIPPED, SNAP_FIRST, SNAP_LAST, COST_END = range(5)
_WIDTH = 5

AMBIGUOUS = -math.inf
"""`next_snapshot_after`: a snapshot follows in the same closed bucket, at an unknown time."""


def _isnan(x: float) -> bool:
    return x != x


class SkuHistory:
    """Closed-bucket records of one SKU-location (see the module docstring)."""

    __slots__ = ("buckets", "cost_before", "first_cost", "fixes", "rows", "units", "units_at")

    def __init__(self) -> None:
        self.buckets = array("l")  # sorted bucket indexes
        self.rows = array("d")  # _WIDTH numbers per bucket
        self.fixes: dict[tuple[int, int], ExactSum] | None = None  # (column, bucket) -> sum
        # Unit cost in force before the first record (after pruning); nan when none was.
        self.cost_before = NAN
        # Cost of the SKU-location's first snapshot once it is in closed history.
        self.first_cost = NAN
        self.units_at: array[int] | None = None  # buckets with unpriced unit-seconds
        self.units: array[float] | None = None

    def __len__(self) -> int:
        return len(self.buckets)

    # -- writing ----------------------------------------------------------------------------

    def append(
        self,
        k: int,
        demand: float,
        shipped: float,
        snap_first: float,
        snap_last: float,
        cost_end: float,
    ) -> None:
        """A newly closed bucket, after every existing record."""
        if self.buckets and k <= self.buckets[-1]:
            raise ValueError(f"bucket {k} is not after the last record {self.buckets[-1]}")
        self.buckets.append(k)
        self.rows.extend((demand, shipped, snap_first, snap_last, cost_end))

    def ensure(self, k: int) -> int:
        """Index of the record of bucket `k`, inserting an empty one when there is none.

        An inserted record carries the cost in force before it (it had no snapshot).
        """
        i = bisect_left(self.buckets, k)
        if i < len(self.buckets) and self.buckets[i] == k:
            return i
        cost = self.rows[(i - 1) * _WIDTH + COST_END] if i else self.cost_before
        self.buckets.insert(i, k)
        at = i * _WIDTH
        self.rows[at:at] = array("d", (0.0, 0.0, NAN, NAN, cost))
        return i

    def add(self, column: int, k: int, amount: float) -> None:
        """Add `amount` to the demand or dispatched units of closed bucket `k`, exactly."""
        i = self.ensure(k)
        fixes = self.fixes
        if fixes is None:
            fixes = self.fixes = {}
        found = fixes.get((column, k))
        if found is None:
            found = fixes[(column, k)] = ExactSum()
            found.add(self.rows[i * _WIDTH + column])
        found.add(amount)

    def note_snapshot(self, k: int, t: float, cost: float) -> None:
        """A late snapshot at `t` in closed bucket `k`, newer than every inventory event.

        The cost is in force from it on: at the end of its bucket and every later one.
        """
        i = self.ensure(k)
        rows, at = self.rows, i * _WIDTH
        if _isnan(rows[at + SNAP_FIRST]) or t < rows[at + SNAP_FIRST]:
            rows[at + SNAP_FIRST] = t
        if _isnan(rows[at + SNAP_LAST]) or t > rows[at + SNAP_LAST]:
            rows[at + SNAP_LAST] = t
        for j in range(i, len(self.buckets)):
            rows[j * _WIDTH + COST_END] = cost
        if _isnan(self.first_cost):
            self.first_cost = cost

    def add_units(self, k: int, unit_seconds: float) -> None:
        """Unit-seconds of positive on_hand in closed bucket `k`, not priced yet."""
        if self.units_at is None or self.units is None:
            self.units_at, self.units = array("l"), array("d")
        i = bisect_left(self.units_at, k)
        if i < len(self.units_at) and self.units_at[i] == k:
            self.units[i] += unit_seconds
        else:
            self.units_at.insert(i, k)
            self.units.insert(i, unit_seconds)

    def drop_units(self) -> None:
        """The SKU-location has a cost now: nothing is left to price."""
        self.units_at = self.units = None

    # -- reading ----------------------------------------------------------------------------

    def value(self, i: int, column: int) -> float:
        """Column of record `i`, exact sums included."""
        if self.fixes is not None and column <= SHIPPED:
            found = self.fixes.get((column, self.buckets[i]))
            if found is not None:
                return found.total()
        return self.rows[i * _WIDTH + column]

    def records(self, column: int, lo: int, hi: int) -> Iterator[tuple[int, float]]:
        """`(bucket, value)` of the records of buckets `lo <= k < hi` with a non-zero `column`."""
        buckets = self.buckets
        for i in range(bisect_left(buckets, lo), bisect_left(buckets, hi)):
            amount = self.value(i, column)
            if amount:
                yield buckets[i], amount

    def all(self, column: int) -> Iterator[tuple[int, float]]:
        """`(bucket, value)` of every record with a non-zero `column`."""
        return self.records(column, -(1 << 62), 1 << 62)

    def unpriced_units(self) -> Iterator[tuple[int, float]]:
        """`(bucket, unit-seconds)` of value not priced yet."""
        if self.units_at is not None and self.units is not None:
            yield from zip(self.units_at, self.units, strict=True)

    def cost_at(self, t: float, size: float) -> tuple[float, bool]:
        """`(unit cost at t, exact)` for `t` in a closed bucket.

        The cost of the latest snapshot at or before `t` (nan when there was none
        yet). Inexact when `t` falls between two snapshots of one closed bucket: the
        cost at that bucket's end is returned.
        """
        k = bucket_index(t, size)
        buckets, rows = self.buckets, self.rows
        i = bisect_right(buckets, k) - 1
        if i < 0:
            return self.cost_before, True
        at = i * _WIDTH
        if buckets[i] < k or _isnan(rows[at + SNAP_FIRST]) or t >= rows[at + SNAP_LAST]:
            return rows[at + COST_END], True
        if t < rows[at + SNAP_FIRST]:
            return (rows[at - _WIDTH + COST_END] if i else self.cost_before), True
        return rows[at + COST_END], False

    def next_snapshot_after(self, t: float, size: float) -> float:
        """Time of the first closed-bucket snapshot after `t`; inf when none, AMBIGUOUS when
        one follows in `t`'s own bucket but its time is not known (the bucket has snapshots
        before and after `t`)."""
        k = bucket_index(t, size)
        buckets, rows = self.buckets, self.rows
        for i in range(bisect_left(buckets, k), len(buckets)):
            at = i * _WIDTH
            first, last = rows[at + SNAP_FIRST], rows[at + SNAP_LAST]
            if _isnan(first):
                continue
            if buckets[i] == k:
                if last <= t:
                    continue
                return first if first > t else AMBIGUOUS
            return first
        return math.inf

    # -- forgetting -----------------------------------------------------------------------

    def prune(self, k: int) -> int:
        """Forget the records of buckets before `k`; returns how many."""
        n = bisect_left(self.buckets, k)
        if n:
            cost = self.rows[(n - 1) * _WIDTH + COST_END]
            if not _isnan(cost):
                self.cost_before = cost
            if self.fixes is not None:
                for key in [key for key in self.fixes if key[1] < k]:
                    del self.fixes[key]
                if not self.fixes:
                    self.fixes = None
            del self.buckets[:n], self.rows[: n * _WIDTH]
        if self.units_at is not None and self.units is not None:
            u = bisect_left(self.units_at, k)
            del self.units_at[:u], self.units[:u]
        return n
