"""The inventory position of one SKU-location in its open buckets.

A SKU-location's inventory history is its *base* (the walk state at the start
of the location's first open bucket, `streams.core.walk.Walk`) plus the raw
entries of the open buckets. Snapshots set on_hand, adjustments move it; order
lines are kept here only as stockout triggers. Entries are applied in key order
`(time, kind, event_id)` with kinds snapshot < adjustment < order line, so ties
resolve the same way whatever order the events arrived in. From that walk the
ledger keeps:

- the inventory value step function `max(on_hand, 0) * unit_cost` as change
  points (`times`, `values`) and its running integral (`cum`), so the integral
  over any part of the open buckets is two look-ups;
- the stockout episode starts and the current episode;
- the snapshot costs, to price dispatch lines at `unit_cost(dispatch time)`.

When a bucket closes, `fold` walks the entries before the cut once more and
returns that bucket's aggregates (`Folded`); the walk state at the cut becomes
the new base and those entries are forgotten. Before the SKU-location's first
snapshot its unit cost is the first snapshot's (0 while there is none): values
and dispatch lines folded without any cost are reported with their unit-seconds
and units, so they can be priced when the first snapshot comes.

Events usually arrive nearly in time order, so a build extends the walk from
its last state; an entry that sorts before the last applied one replays from
the last snapshot before it (or from the base).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from typing import NamedTuple

from streams.core.walk import (
    ADJUSTMENT,
    ORDER_LINE,
    SNAPSHOT,
    Entry,
    Line,
    Walk,
    WalkState,
    floats,
    ints,
    step,
)
from streams.core.windows import bucket_index

__all__ = [
    "ADJUSTMENT", "ORDER_LINE", "SNAPSHOT", "Entry", "Folded", "InventoryLedger", "Line", "Walk",
    "walk_value",
]  # fmt: skip

NAN = math.nan


def walk_value(walk: Walk, first_cost: float) -> float:
    """`max(on_hand, 0) * unit_cost` of a walk state ($); the first snapshot's cost before any."""
    if walk.on_hand <= 0:
        return 0.0
    return walk.on_hand * (walk.cost if walk.cost is not None else first_cost)


class Folded(NamedTuple):
    """Aggregates of the buckets `first .. first + len(integral) - 1` of one SKU-location.

    Money in $, times in epoch seconds; `nan` where a bucket had no snapshot.
    `units` (unit-seconds of positive on_hand, per bucket) is set when the base had
    no cost yet: those values were priced at the first snapshot's cost known then.
    """

    first: int
    integral: list[float]  # ∫ value dt ($·s)
    units: list[float] | None
    starts: list[int]  # stockout episodes started
    cogs: list[float]  # dispatch lines x unit cost at dispatch ($)
    shipped: list[float]  # dispatched units
    snap_first: list[float]
    snap_last: list[float]
    cost_end: list[float]  # unit cost in force at the bucket's end (nan: no snapshot yet)


class InventoryLedger:
    """Raw inventory entries and dispatch lines of one SKU-location's open buckets.

    Recording only appends; `build()` brings the walk and the derived arrays up to
    date, and every query comes after a build. Created for a SKU-location's first
    open entry and dropped when a fold leaves none (the base then lives on the
    SKU-location).
    """

    __slots__ = (
        "_entries", "_first_cost", "_lines", "_lines_pending", "_pending", "_replay_all",
        "_snap_index", "_snap_points", "_snap_starts", "_snap_walks", "_walk", "base",
        "cogs_cum", "cogs_times", "cum", "snap_costs", "snap_times", "starts", "times", "values",
    )  # fmt: skip

    def __init__(self, base: Walk) -> None:
        self.base = base
        self._pending: list[Entry] = []
        self._lines_pending: list[Line] = []
        self._entries: list[Entry] = []
        self._lines: list[Line] = []
        self._replay_all = True  # the derived arrays are (re)built from the base

    # -- recording (O(1), no computation) --------------------------------------------------

    def add(self, entry: Entry) -> None:
        """Record a snapshot, adjustment or order-line entry of an open bucket."""
        self._pending.append(entry)

    def add_line(self, line: Line) -> None:
        """Record a dispatch line of an open bucket."""
        self._lines_pending.append(line)

    def remove(self, entry: Entry) -> None:
        """Withdraw a recorded entry (an order placement displaced by an earlier one).

        Rare, so it simply makes the next build replay everything.
        """
        if entry in self._pending:
            self._pending.remove(entry)
        elif entry in self._entries:
            self._entries.remove(entry)
            self._replay_all = True

    def rebase(self) -> None:
        """The base was moved (a late event): the next build replays from it."""
        self._replay_all = True

    @property
    def empty(self) -> bool:
        """Whether nothing is recorded (the ledger can be dropped)."""
        return not (self._entries or self._pending or self._lines or self._lines_pending)

    # -- building -------------------------------------------------------------------------

    def build(self) -> None:
        """Bring the walk and the COGS prices up to date with everything recorded."""
        pending = self._pending
        reprice = False
        if pending or self._replay_all:
            pending.sort()
            snapshots = any(e[1] == SNAPSHOT for e in pending)
            if self._replay_all:
                self._entries = sorted(self._entries + pending)
                self._resume(-1)
                self._replay_all = False
                reprice = True
            elif self._entries and pending[0] < self._entries[-1]:
                position = bisect_left(self._entries, pending[0])
                self._entries = sorted(self._entries + pending)
                if snapshots and self.base.cost is None:
                    self._resume(-1)  # maybe a new first snapshot: it prices what came before
                else:
                    self._resume(bisect_left(self._snap_index, position) - 1)
            else:
                start = len(self._entries)
                self._entries.extend(pending)
                if snapshots and self.base.cost is None and not self.snap_times:
                    self._resume(-1)  # the first snapshot prices the values before it
                else:
                    self._apply(start)
            pending.clear()
            reprice = reprice or snapshots
        if self._lines_pending or reprice:
            self._build_cogs(reprice)

    def _resume(self, k: int) -> None:
        """Re-apply the entries from snapshot number `k` on (all, from the base, when k < 0)."""
        if k < 0:
            self._walk = self.base.copy()
            self._first_cost = next((e[5] for e in self._entries if e[1] == SNAPSHOT), 0.0)
            self.times, self.values, self.cum, self.starts = floats(), floats(), floats(), floats()
            self.snap_times, self.snap_costs = floats(), floats()
            self._snap_index, self._snap_points, self._snap_starts = ints(), ints(), ints()
            self._snap_walks: list[WalkState] = []
            self._apply(0)
            return
        self._walk = Walk.restore(self._snap_walks[k])
        index, points, starts = self._snap_index[k], self._snap_points[k], self._snap_starts[k]
        del self.times[points:], self.values[points:], self.cum[points:], self.starts[starts:]
        del self.snap_times[k:], self.snap_costs[k:], self._snap_index[k:]
        del self._snap_walks[k:], self._snap_points[k:], self._snap_starts[k:]
        self._apply(index)

    def _apply(self, offset: int) -> None:
        """Apply `self._entries[offset:]` to the walk, extending the arrays."""
        walk, times, values, cum = self._walk, self.times, self.values, self.cum
        first_cost = self._first_cost
        for index in range(offset, len(self._entries)):
            entry = self._entries[index]
            t, kind = entry[0], entry[1]
            if kind == SNAPSHOT:
                self._checkpoint(t, entry[5], index, walk)
            if step(walk, entry):
                self.starts.append(t)
            if kind == ORDER_LINE:
                continue
            cum.append(cum[-1] + values[-1] * (t - times[-1]) if times else 0.0)
            times.append(t)
            values.append(walk_value(walk, first_cost))

    def _checkpoint(self, t: float, cost: float, index: int, walk: Walk) -> None:
        """Checkpoint at the snapshot `index`: the walk resumes here when a later entry is late."""
        self.snap_times.append(t)
        self.snap_costs.append(cost)
        self._snap_index.append(index)
        self._snap_walks.append(walk.state())
        self._snap_points.append(len(self.times))
        self._snap_starts.append(len(self.starts))

    def _build_cogs(self, reprice: bool) -> None:
        pending = self._lines_pending
        pending.sort()
        if reprice or (pending and self._lines and pending[0] < self._lines[-1]):
            self._lines = sorted(self._lines + pending)
            self.cogs_times, self.cogs_cum = floats(), floats()
            todo = self._lines
        else:
            self._lines.extend(pending)
            todo = pending
        times, cum = self.cogs_times, self.cogs_cum
        for t, _event_id, quantity in todo:
            times.append(t)
            cum.append((cum[-1] if cum else 0.0) + quantity * self.cost_at(t))
        pending.clear()

    # -- queries (after build) ------------------------------------------------------------

    def cost_at(self, t: float) -> float:
        """Unit cost at `t`: the latest snapshot at or before it, else the base's, else the
        first open snapshot's (0 when there is none)."""
        i = bisect_right(self.snap_times, t) - 1
        if i >= 0:
            return self.snap_costs[i]
        if self.base.cost is not None:
            return self.base.cost
        return self._first_cost

    @property
    def first_cost(self) -> float:
        """Cost of the first open snapshot (0 without one): prices values before any cost."""
        return self._first_cost

    def integral(self, a: float, b: float) -> float:
        """∫ value dt over `[a, b]` ($·s), `a` at or after the base's time."""
        if b <= a:
            return 0.0
        times = self.times
        v0 = walk_value(self.base, self._first_cost)
        if not times or b <= times[0]:
            return v0 * (b - a)
        head = 0.0
        if a < times[0]:
            head, a = v0 * (times[0] - a), times[0]
        values, cum = self.values, self.cum
        i = bisect_right(times, a) - 1
        j = bisect_right(times, b) - 1
        upper = cum[j] + values[j] * (b - times[j])
        lower = cum[i] + values[i] * (a - times[i])
        return head + (upper - lower)

    def starts_between(self, lo: float, hi: float) -> int:
        """Stockout episodes started in `[lo, hi]`."""
        return bisect_right(self.starts, hi) - bisect_left(self.starts, lo)

    def cogs_between(self, lo: float, hi: float) -> float:
        """COGS of the dispatch lines in `[lo, hi]` ($)."""
        times, cum = self.cogs_times, self.cogs_cum
        i, j = bisect_left(times, lo), bisect_right(times, hi)
        if j <= i:
            return 0.0
        return cum[j - 1] - (cum[i - 1] if i else 0.0)

    def settled_episodes(self, until: float) -> int:
        """Episodes started at or before `until`, folded history included."""
        later = len(self.starts) - bisect_right(self.starts, until)
        return self._walk.episodes - later

    @property
    def current(self) -> Walk:
        """State after every entry (on_hand, in_transit, cost, stockout)."""
        return self._walk

    @property
    def unit_cost(self) -> float:
        """Unit cost of the latest snapshot (the first one's before any; 0 when there is none)."""
        cost = self._walk.cost
        return cost if cost is not None else self._first_cost

    # -- closing buckets ------------------------------------------------------------------

    def fold(self, origin: float, cut: float, size: float) -> Folded:
        """Aggregates of the buckets in `[origin, cut)`; their entries become the new base.

        `origin` is the start of the first open bucket, `cut` the start of the first
        bucket that stays open (both bucket-aligned). Read off the built arrays (settling
        has usually built them already): a few look-ups per bucket, and a short replay to
        the cut when entries remain after it. A base without any cost yet folds by
        walking (`_fold_walking`), which also reports the unit-seconds to price later.
        """
        quick = self._fold_still(origin, cut, size)
        if quick is not None:
            return quick
        self.build()
        entries, lines = self._entries, self._lines
        n = bisect_left(entries, (cut,))
        base_cost = self.base.cost
        units: list[float] | None = None
        k0 = bucket_index(origin, size)
        count = bucket_index(cut, size) - k0
        if base_cost is None:
            if any(e[1] != ORDER_LINE for e in entries[:n]):
                return self._fold_walking(origin, cut, size)
            # Only order lines: the position stood still at the base all along.
            held = self.base.on_hand if self.base.on_hand > 0 else 0.0
            units = [held * size] * count
        m = bisect_left(lines, (cut,))
        starts, snaps, costs = self.starts, self.snap_times, self.snap_costs
        cogs_times, cogs_cum = self.cogs_times, self.cogs_cum
        folded = Folded(k0, [], units, [], [], [], [], [], [])
        for j in range(count):
            lo = (k0 + j) * size
            hi = lo + size
            folded.integral.append(self.integral(lo, hi))
            folded.starts.append(bisect_left(starts, hi) - bisect_left(starts, lo))
            a, b = bisect_left(cogs_times, lo), bisect_left(cogs_times, hi)
            folded.cogs.append(cogs_cum[b - 1] - (cogs_cum[a - 1] if a else 0.0) if b > a else 0.0)
            folded.shipped.append(math.fsum([line[2] for line in lines[a:b]]))
            s0, s1 = bisect_left(snaps, lo), bisect_left(snaps, hi)
            folded.snap_first.append(snaps[s0] if s1 > s0 else NAN)
            folded.snap_last.append(snaps[s1 - 1] if s1 > s0 else NAN)
            folded.cost_end.append(
                costs[s1 - 1] if s1 else (NAN if base_cost is None else base_cost)
            )
        self.base = self._state_at(n)
        self._entries = entries[n:]
        self._lines = lines[m:]
        self._replay_all = True
        return folded

    def still(self) -> bool:
        """Whether the position stands at the base: only order lines are open and none can
        start an episode (the common SKU-location between two counts)."""
        base = self.base
        if base.known and base.on_hand <= 0 and not base.stocked_out:
            return False  # an order line would start an episode
        return all(e[1] == ORDER_LINE for e in self._entries) and all(
            e[1] == ORDER_LINE for e in self._pending
        )

    def _fold_still(self, origin: float, cut: float, size: float) -> Folded | None:
        """`fold` without a build when the position stands still (`still`); None otherwise."""
        if not self.still():
            return None
        base = self.base
        entries = self._entries + self._pending
        lines = sorted(self._lines + self._lines_pending)
        k0 = bucket_index(origin, size)
        count = bucket_index(cut, size) - k0
        cost = base.cost
        price = cost if cost is not None else 0.0  # no snapshot anywhere: the first is unknown
        value = base.on_hand * price if base.on_hand > 0 else 0.0
        m = bisect_left(lines, (cut,))
        cogs: list[list[float]] = [[] for _ in range(count)]
        shipped: list[list[float]] = [[] for _ in range(count)]
        for t, _event_id, quantity in lines[:m]:
            j = bucket_index(t, size) - k0
            cogs[j].append(quantity * price)
            shipped[j].append(quantity)
        held = base.on_hand if base.on_hand > 0 else 0.0
        nan = [NAN] * count
        self._entries = sorted(e for e in entries if e[0] >= cut)
        self._pending = []
        self._lines, self._lines_pending = lines[m:], []
        self._replay_all = True
        return Folded(
            k0,
            [value * size] * count,
            [held * size] * count if cost is None else None,
            [0] * count,
            [math.fsum(c) for c in cogs],
            [math.fsum(s) for s in shipped],
            nan,
            list(nan),
            [cost if cost is not None else NAN] * count,
        )

    def skip_to(self, keep: float) -> int:
        """Walk the entries before `keep` into the base without any bucket totals (they are
        older than any window); returns the stockout episodes they started."""
        self.build()
        n = bisect_left(self._entries, (keep,))
        started = bisect_left(self.starts, keep)
        self.base = self._state_at(n)
        self._entries = self._entries[n:]
        self._lines = self._lines[bisect_left(self._lines, (keep,)) :]
        self._replay_all = True
        return started

    def _state_at(self, n: int) -> Walk:
        """The walk after the first `n` entries (after a build)."""
        entries = self._entries
        if n == len(entries):
            return self._walk.copy()
        k = bisect_right(self._snap_index, n) - 1
        if k >= 0:
            walk, start = Walk.restore(self._snap_walks[k]), self._snap_index[k]
        else:
            walk, start = self.base.copy(), 0
        for entry in entries[start:n]:
            step(walk, entry)
        return walk

    def _fold_walking(self, origin: float, cut: float, size: float) -> Folded:
        """`fold` for a base without a cost: walks the raw entries once, and reports the
        unit-seconds of positive on_hand valued before any snapshot."""
        if self._pending:
            self._entries = sorted(self._entries + self._pending)
            self._pending.clear()
        if self._lines_pending:
            self._lines = sorted(self._lines + self._lines_pending)
            self._lines_pending.clear()
        entries, lines = self._entries, self._lines
        n = bisect_left(entries, (cut,))
        m = bisect_left(lines, (cut,))
        k0 = bucket_index(origin, size)
        count = bucket_index(cut, size) - k0
        walk = self.base.copy()
        first_cost = 0.0
        if walk.cost is None:  # the first snapshot's cost prices what came before it
            first_cost = next((e[5] for e in entries if e[1] == SNAPSHOT), 0.0)
        unpriced = walk.cost is None
        areas: list[list[float]] = [[] for _ in range(count)]
        units: list[list[float]] = [[] for _ in range(count)]
        starts = [0] * count
        snap_first, snap_last, cost_end = [NAN] * count, [NAN] * count, [NAN] * count
        tau, value = origin, walk_value(walk, first_cost)
        i = 0
        for j in range(count):
            end = (k0 + j + 1) * size
            while i < n and entries[i][0] < end:
                entry = entries[i]
                t, kind = entry[0], entry[1]
                i += 1
                if kind != ORDER_LINE and t > tau:
                    areas[j].append(value * (t - tau))
                    if walk.cost is None and walk.on_hand > 0:
                        units[j].append(walk.on_hand * (t - tau))
                    tau = t
                if kind == SNAPSHOT:
                    if snap_first[j] != snap_first[j]:  # nan: the bucket's first snapshot
                        snap_first[j] = t
                    snap_last[j] = t
                if step(walk, entry):
                    starts[j] += 1
                if kind != ORDER_LINE:
                    value = walk_value(walk, first_cost)
            if end > tau:
                areas[j].append(value * (end - tau))
                if walk.cost is None and walk.on_hand > 0:
                    units[j].append(walk.on_hand * (end - tau))
                tau = end
            cost_end[j] = walk.cost if walk.cost is not None else NAN
        cogs: list[list[float]] = [[] for _ in range(count)]
        shipped: list[list[float]] = [[] for _ in range(count)]
        if m:
            snaps = [(e[0], e[5]) for e in entries[:n] if e[1] == SNAPSHOT]
            snap_times = [s[0] for s in snaps]
            before = self.base.cost if self.base.cost is not None else first_cost
            for t, _event_id, quantity in lines[:m]:
                j = bucket_index(t, size) - k0
                i = bisect_right(snap_times, t) - 1
                cogs[j].append(quantity * (snaps[i][1] if i >= 0 else before))
                shipped[j].append(quantity)
        self.base = walk
        self._entries = entries[n:]
        self._lines = lines[m:]
        self._replay_all = True
        return Folded(
            k0,
            [math.fsum(a) for a in areas],
            [math.fsum(u) for u in units] if unpriced else None,
            starts,
            [math.fsum(c) for c in cogs],
            [math.fsum(s) for s in shipped],
            snap_first,
            snap_last,
            cost_end,
        )

    # -- checkpoints ----------------------------------------------------------------------

    def __getstate__(self) -> tuple[WalkState, list[Entry], list[Line]]:
        """The base and the raw entries only: the derived arrays are rebuilt by the next build."""
        return (
            self.base.state(),
            sorted(self._entries + self._pending),
            sorted(self._lines + self._lines_pending),
        )

    def __setstate__(self, state: tuple[WalkState, list[Entry], list[Line]]) -> None:
        base, entries, lines = state
        self.base = Walk.restore(base)
        self._pending, self._lines_pending = [], []
        self._entries, self._lines = list(entries), list(lines)
        self._replay_all = True
