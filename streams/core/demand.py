"""Ordered quantity of one SKU-location over order time (orders not cancelled).

Feeds expected daily demand, demand variability (daily sums) and the actuals of
forecast periods. Closed buckets keep one number per bucket
(`streams.core.history`); the open buckets keep their order lines here, sorted
by `(placed_at, event_id, line position)` so every sum runs in the same order
whatever order the orders arrived in.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable

from streams.core.history import DEMAND, SkuHistory
from streams.core.windows import DAY, bucket_index

DemandEntry = tuple[float, str, int, float]
"""`(placed_at, event_id, line position, quantity)`."""


class DemandSeries:
    """Sorted demand entries of the open buckets."""

    __slots__ = ("_entries", "quantities", "times")

    def __init__(self) -> None:
        self._entries: list[DemandEntry] = []
        self.times = array("d")  # typed arrays: not walked by the garbage collector
        self.quantities = array("d")

    def __len__(self) -> int:
        return len(self._entries)

    def replace_all(self, entries: list[DemandEntry]) -> None:
        """Start over from the full set (after a re-published order)."""
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

    def remove(self, entries: Iterable[DemandEntry]) -> None:
        """Withdraw entries (the lines of a cancelled order); absent ones are ignored."""
        for entry in entries:
            i = bisect_left(self._entries, entry)
            if i < len(self._entries) and self._entries[i] == entry:
                del self._entries[i], self.times[i], self.quantities[i]

    def until(self, hi: float) -> list[tuple[float, float]]:
        """`(placed_at, quantity)` of the entries at or before `hi`."""
        j = bisect_right(self.times, hi)
        return list(zip(self.times[:j], self.quantities[:j], strict=True))

    def by_bucket(self, size: float) -> dict[int, float]:
        """Units per bucket index (every entry)."""
        parts: dict[int, list[float]] = {}
        for t, q in zip(self.times, self.quantities, strict=True):
            parts.setdefault(bucket_index(t, size), []).append(q)
        return {k: math.fsum(v) for k, v in parts.items()}

    def fold(self, cut: float, size: float) -> dict[int, float]:
        """Units per bucket of the entries before `cut`, which are forgotten."""
        n = bisect_left(self.times, cut)
        parts: dict[int, list[float]] = {}
        for t, q in zip(self.times[:n], self.quantities[:n], strict=True):
            parts.setdefault(bucket_index(t, size), []).append(q)
        if n:
            del self._entries[:n], self.times[:n], self.quantities[:n]
        return {k: math.fsum(v) for k, v in parts.items()}

    def __getstate__(self) -> list[DemandEntry]:
        return self._entries

    def __setstate__(self, state: list[DemandEntry]) -> None:
        self.replace_all(list(state))


def daily_demand(
    history: SkuHistory | None,
    series: DemandSeries | None,
    size: float,
    lo: int,
    open_k: int,
    wm: float,
    first_day: int,
    days: int,
) -> list[float]:
    """Units ordered per UTC day `first_day .. first_day + days - 1` (0 for a day without any).

    Closed buckets `lo <= k < open_k` come from `history`; the open buckets from
    `series`, up to the watermark `wm`.
    """
    if days <= 0:
        return []
    parts: list[list[float]] = [[] for _ in range(days)]
    per_day = round(DAY / size)
    if history is not None:
        for k, units in history.records(DEMAND, lo, open_k):
            d = k // per_day - first_day
            if 0 <= d < days:
                parts[d].append(units)
    if series is not None:
        for t, units in series.until(wm):
            # An order exactly at a midnight watermark joins the day before: the new day
            # has no covered time yet (`windows.covered_days`).
            d = min(bucket_index(t, DAY) - first_day, days - 1)
            if d >= 0:
                parts[d].append(units)
    return [math.fsum(p) if p else 0.0 for p in parts]
