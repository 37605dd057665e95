"""A location's closed buckets: per-bucket totals over all its SKU-locations.

What every window reads, kept once per bucket instead of once per event: the
time integral of inventory value, COGS, sales and expedite cost (exact sums in
dollars, so that late corrections do not depend on the order they came in),
and the stockout episodes started. A window's figure is the sum of its closed
buckets plus what the open buckets still hold raw.
"""

from __future__ import annotations

import math

from streams.core.ratios import ExactSum

INTEGRAL, COGS, SALES, EXPEDITE = "integral", "cogs", "sales", "expedite"
MONEY = (INTEGRAL, COGS, SALES, EXPEDITE)


class BucketColumns:
    """Per-bucket totals of one location's closed buckets (bucket index -> amount)."""

    __slots__ = ("money", "starts")

    def __init__(self) -> None:
        self.money: dict[str, dict[int, ExactSum]] = {name: {} for name in MONEY}
        self.starts: dict[int, int] = {}  # stockout episodes started

    def add(self, column: str, k: int, amount: float) -> None:
        """Add an amount to a closed bucket's total (exactly)."""
        if amount:
            cells = self.money[column]
            found = cells.get(k)
            if found is None:
                found = cells[k] = ExactSum()
            found.add(amount)

    def add_starts(self, k: int, count: int) -> None:
        if count:
            self.starts[k] = self.starts.get(k, 0) + count

    def total(self, column: str, lo: int, hi: int) -> float:
        """Sum of a money column over the buckets `lo <= k < hi`."""
        cells = self.money[column]
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
