"""A location's closed buckets: per-bucket totals over all its SKU-locations.

What every window reads, kept once per bucket instead of once per event: the
time integral of inventory value, COGS, sales and expedite cost (exact sums in
dollars, so that late corrections do not depend on the order they came in),
and the stockout episodes started. A window's figure is the sum of its closed
buckets plus what the open buckets still hold raw.

The value integral and COGS are also kept per policy source (SPEC §4.3), in the
columns `cohort_column(INTEGRAL, source)`: each SKU-location's share of a bucket
goes to the source of the policy in force at the bucket's start
(`CohortColumns`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Protocol

from streams.core.ratios import ExactSum

INTEGRAL, COGS, SALES, EXPEDITE = "integral", "cogs", "sales", "expedite"
MONEY = (INTEGRAL, COGS, SALES, EXPEDITE)
BY_COHORT = (INTEGRAL, COGS)


def cohort_column(column: str, source: str) -> str:
    """Name of the column holding the `source` cohort's share of `column`."""
    return f"{column}@{source}"


class BucketColumns:
    """Per-bucket totals of one location's closed buckets (bucket index -> amount)."""

    __slots__ = ("money", "starts")

    def __init__(self) -> None:
        self.money: dict[str, dict[int, ExactSum]] = {name: {} for name in MONEY}
        self.starts: dict[int, int] = {}  # stockout episodes started

    def add(self, column: str, k: int, amount: float) -> None:
        """Add an amount to a closed bucket's total (exactly)."""
        if amount:
            cells = self.money.get(column)
            if cells is None:
                cells = self.money[column] = {}
            found = cells.get(k)
            if found is None:
                found = cells[k] = ExactSum()
            found.add(amount)

    def add_starts(self, k: int, count: int) -> None:
        if count:
            self.starts[k] = self.starts.get(k, 0) + count

    def total(self, column: str, lo: int, hi: int) -> float:
        """Sum of a money column over the buckets `lo <= k < hi` (0 for a column never added to)."""
        cells = self.money.get(column, {})
        if hi - lo < len(cells):
            parts = [cells[k].total() for k in range(lo, hi) if k in cells]
        else:
            parts = [cell.total() for k, cell in cells.items() if lo <= k < hi]
        return math.fsum(parts)

    def starts_between(self, lo: int, hi: int) -> int:
        """Stockout episodes started in the buckets `lo <= k < hi`."""
        return sum(count for k, count in self.starts.items() if lo <= k < hi)

    def prune(self, k: int) -> int:
        """Forget the buckets before `k`; returns the number of cells dropped."""
        dropped = 0
        for cells in self.money.values():
            old = [key for key in cells if key < k]
            for key in old:
                del cells[key]
            dropped += len(old)
        old = [key for key in self.starts if key < k]
        for key in old:
            del self.starts[key]
        return dropped + len(old)

    def __getstate__(self) -> tuple[dict[str, dict[int, list[float]]], dict[int, int]]:
        money = {
            name: {k: cell.partials() for k, cell in cells.items()}
            for name, cells in self.money.items()
        }
        return money, self.starts

    def __setstate__(self, state: tuple[dict[str, dict[int, list[float]]], dict[int, int]]) -> None:
        money, self.starts = state
        self.money = {
            name: {k: ExactSum.of(partials) for k, partials in cells.items()}
            for name, cells in money.items()
        }


class Tally:
    """Contributions to closing buckets, gathered then added once per cell (`into`).

    Closing a bucket adds every SKU-location's share of its value integral and COGS:
    one exact sum of their `math.fsum` per cell costs far less than one exact addition
    per SKU-location, and is as independent of their order.
    """

    __slots__ = ("money", "starts")

    def __init__(self) -> None:
        self.money: dict[tuple[str, int], list[float]] = {}
        self.starts: dict[int, int] = {}

    def add(self, column: str, k: int, amount: float) -> None:
        if amount:
            cell = self.money.get((column, k))
            if cell is None:
                self.money[(column, k)] = [amount]
            else:
                cell.append(amount)

    def add_starts(self, k: int, count: int) -> None:
        if count:
            self.starts[k] = self.starts.get(k, 0) + count

    def into(self, columns: BucketColumns) -> None:
        for (column, k), amounts in sorted(self.money.items()):
            columns.add(column, k, math.fsum(amounts))
        for k, count in sorted(self.starts.items()):
            columns.add_starts(k, count)


class ColumnSink(Protocol):
    """Where closed-bucket amounts go: `BucketColumns`, a `Tally`, or a `CohortColumns`."""

    def add(self, column: str, k: int, amount: float) -> None: ...

    def add_starts(self, k: int, count: int) -> None: ...


class CohortColumns:
    """One SKU-location's view of a location's columns (`BucketColumns` or `Tally`): what it
    adds to the value integral or COGS of a bucket also goes to the column of the policy
    source in force at that bucket's start (`source(k)`)."""

    __slots__ = ("columns", "source")

    def __init__(self, columns: ColumnSink, source: Callable[[int], str]) -> None:
        self.columns = columns
        self.source = source

    def add(self, column: str, k: int, amount: float) -> None:
        self.columns.add(column, k, amount)
        if amount and column in BY_COHORT:
            self.columns.add(cohort_column(column, self.source(k)), k, amount)

    def add_starts(self, k: int, count: int) -> None:
        self.columns.add_starts(k, count)
