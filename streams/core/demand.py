"""Ordered quantity of one SKU-location over order time (orders not cancelled).

Feeds expected daily demand, demand variability (daily buckets), obsolescence,
and the actuals of forecast periods. Entries are kept sorted by
`(placed_at, event_id, line position)` so every sum runs in the same order
whatever order the orders arrived in.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right

from streams.core.windows import DAY

DemandEntry = tuple[float, str, int, float]
"""`(placed_at, event_id, line position, quantity)`."""


class DemandSeries:
    """Sorted demand entries with window and period sums."""

    __slots__ = ("_entries", "quantities", "times")

    def __init__(self) -> None:
        self._entries: list[DemandEntry] = []
        self.times = array("d")  # typed arrays: not walked by the garbage collector
        self.quantities = array("d")

    def replace_all(self, entries: list[DemandEntry]) -> None:
        """Start over from the full set (after a cancellation or a re-published order)."""
        self._entries = sorted(entries)
        self.times = array("d", [e[0] for e in self._entries])
        self.quantities = array("d", [e[3] for e in self._entries])

    def extend(self, entries: list[DemandEntry]) -> None:
        """Add new entries; cheap when they all sort after the existing ones."""
        if not entries:
            return
        entries = sorted(entries)
        if self._entries and entries[0] < self._entries[-1]:
            self.replace_all(self._entries + entries)
            return
        self._entries.extend(entries)
        self.times.extend(e[0] for e in entries)
        self.quantities.extend(e[3] for e in entries)

    def remove(self, entries: list[DemandEntry]) -> None:
        """Withdraw entries (the lines of a cancelled order); absent ones are ignored."""
        for entry in entries:
            i = bisect_left(self._entries, entry)
            if i < len(self._entries) and self._entries[i] == entry:
                del self._entries[i], self.times[i], self.quantities[i]

    def total(self, lo: float, hi: float) -> float:
        """Units ordered in `(lo, hi]`."""
        i, j = bisect_right(self.times, lo), bisect_right(self.times, hi)
        return math.fsum(self.quantities[i:j])

    def period_total(self, start: float, end: float) -> float:
        """Units ordered in `[start, end)` (a forecast period's actual A)."""
        i, j = bisect_left(self.times, start), bisect_left(self.times, end)
        return math.fsum(self.quantities[i:j])

    def any_between(self, lo: float, hi: float) -> bool:
        """Whether any order line falls in `(lo, hi]`."""
        return bisect_right(self.times, hi) > bisect_right(self.times, lo)

    def daily(self, wm: float, days: int) -> list[float]:
        """Units ordered per day `(wm - (i+1)*1d, wm - i*1d]`, i = 0..days-1 (0 for empty days)."""
        buckets = [0.0] * days
        if days <= 0:
            return buckets
        times, quantities = self.times, self.quantities
        i = bisect_right(times, wm - days * DAY)
        j = bisect_right(times, wm)
        last, ceil = days - 1, math.ceil
        for k in range(i, j):
            # Day index as in windows.day_index, inlined: this loop is hot.
            index = ceil((wm - times[k]) / DAY) - 1
            buckets[last if index > last else (index if index > 0 else 0)] += quantities[k]
        return buckets

    def prune(self, cut: float) -> int:
        """Drop entries before `cut`; returns how many."""
        k = bisect_left(self.times, cut)
        if k:
            del self._entries[:k], self.times[:k], self.quantities[:k]
        return k
