"""The inventory position of one SKU-location over event time.

Snapshots set on_hand, adjustments move it; order lines are kept here only as
stockout triggers. Entries are applied in key order `(time, kind, event_id)`
with kinds snapshot < adjustment < order line, so ties resolve the same way
whatever order the events arrived in. From that walk the ledger keeps:

- the inventory value step function `max(on_hand, 0) * unit_cost` as change
  points (`times`, `values`) and the exact area of each closed segment, so an
  integral over a window is an exact sum of the same numbers before and after
  pruning;
- the stockout episodes (start times) and the current episode;
- the snapshot costs, to price dispatch lines at `unit_cost(dispatch time)`.

Events usually arrive nearly in time order, so a build extends the walk from
its last state; an entry that sorts before the last applied one (or a first
snapshot, which reprices everything before it) replays the whole ledger.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from itertools import chain

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

__all__ = ["ADJUSTMENT", "ORDER_LINE", "SNAPSHOT", "Entry", "InventoryLedger", "Line", "Walk"]

# Shared, always empty stand-ins for the snapshot checkpoints of a ledger without a
# snapshot and the COGS of one without dispatch lines (most SKU-locations have one or
# the other only): fewer objects to allocate and for the garbage collector to track.
# They are never written: `_checkpoint` and `_build_cogs` swap in real ones first, and
# truncations skip them.
_NO_FLOATS = floats()
_NO_INTS = ints()
_NO_WALKS: list[WalkState] = []
_NO_LINES: list[Line] = []


class InventoryLedger:
    """Raw inventory events of one SKU-location and the walk built from them.

    There is a ledger for every SKU-location an event names (tens of thousands),
    so construction only sets up recording: the walk, its arrays and the COGS
    prices are allocated by the first `build()`. Queries and `prune` come after
    a build.
    """

    __slots__ = (
        "_base", "_built", "_entries", "_first_cost", "_lines", "_lines_pending", "_pending",
        "_replay_all", "_snap_index", "_snap_points", "_snap_starts", "_snap_walks", "_walk",
        "areas", "cogs_times", "cogs_values", "revalued_from", "snap_costs", "snap_times",
        "starts", "times", "values",
    )  # fmt: skip

    def __init__(self) -> None:
        self._pending: list[Entry] = []
        self._lines_pending: list[Line] = []
        self._built = False

    def _allocate(self) -> None:
        """Set up the walk and the derived series (at the first build)."""
        self._built = True
        self._entries: list[Entry] = []
        self._lines = _NO_LINES
        self._base: Walk | None = None  # state before the first kept entry, once pruned
        self._walk = Walk()
        self._first_cost = 0.0  # prices value before the first snapshot
        # Numbers live in typed arrays, not lists: the garbage collector does not walk them.
        self.times = floats()  # change points of the value step function
        self.values = floats()  # value from each change point on ($)
        self.areas = floats()  # areas[k] = values[k] * (times[k+1] - times[k]) ($*s)
        self.starts = floats()  # stockout episode starts (kept history)
        self.snap_times = self.snap_costs = _NO_FLOATS
        self._snap_index = _NO_INTS  # per snapshot: its entry index, the walk before it,
        self._snap_walks = _NO_WALKS  # and the array lengths then (resume checkpoints)
        self._snap_points = self._snap_starts = _NO_INTS
        self.cogs_times = _NO_FLOATS
        self.cogs_values = _NO_FLOATS  # quantity * unit_cost(dispatch time) ($)
        # Values may have changed from here on, over the builds since the reader (the
        # SKU-location) last took it: builds accumulate it, `take_revalued_from` resets it.
        self.revalued_from = math.inf
        self._replay_all = False  # set when an applied entry was withdrawn

    # -- recording (O(1), no computation) --------------------------------------------------

    def add(self, entry: Entry) -> None:
        """Record a snapshot, adjustment or order-line entry."""
        self._pending.append(entry)

    def add_line(self, line: Line) -> None:
        """Record a dispatch line."""
        self._lines_pending.append(line)

    def remove(self, entry: Entry) -> None:
        """Withdraw a recorded entry (an order placement displaced by an earlier one).

        Rare, so it simply makes the next build replay everything.
        """
        if entry in self._pending:
            self._pending.remove(entry)
        elif self._built and entry in self._entries:
            self._entries.remove(entry)
            self._replay_all = True

    # -- building -------------------------------------------------------------------------

    def build(self) -> None:
        """Bring the walk and COGS up to date with everything recorded."""
        if not self._built:
            self._allocate()
        reprice = False  # True when a new snapshot changes the price of recorded lines
        if self._pending or self._replay_all:
            pending = sorted(self._pending)
            self._pending.clear()
            old_first = self.snap_times[0] if self.snap_times else math.inf
            first_snapshot = min((e[0] for e in pending if e[1] == SNAPSHOT), default=math.inf)
            changes = [e[0] for e in pending if e[1] != ORDER_LINE]
            self.revalued_from = min([self.revalued_from, *changes])
            if self._replay_all or first_snapshot < old_first:
                # A withdrawn entry, or a new first snapshot (it prices everything
                # before it): start over.
                self._replay_all = False
                self._entries = sorted(self._entries + pending)
                self._resume(-1)
                self.revalued_from = -math.inf
                reprice = bool(self.cogs_times)
            elif self._entries and pending[0] < self._entries[-1]:
                # Late entries: resume from the last snapshot before the earliest of them.
                position = bisect_left(self._entries, pending[0])
                self._entries = sorted(self._entries + pending)
                self._resume(bisect_left(self._snap_index, position) - 1)
            else:
                self._entries.extend(pending)
                self._apply(len(self._entries) - len(pending))
            if self.cogs_times and first_snapshot <= self.cogs_times[-1]:
                reprice = True
        if self._lines_pending or reprice:
            self._build_cogs(reprice)

    def _resume(self, k: int) -> None:
        """Re-apply the entries from snapshot number `k` on (all of them when k < 0)."""
        if k < 0:
            self._walk = self._base.copy() if self._base is not None else Walk()
            self._first_cost = next((e[5] for e in self._entries if e[1] == SNAPSHOT), 0.0)
            k, index, points, starts = 0, 0, 0, 0
        else:
            self._walk = Walk.restore(self._snap_walks[k])
            index, points, starts = self._snap_index[k], self._snap_points[k], self._snap_starts[k]
        del self.times[points:], self.values[points:], self.areas[max(points - 1, 0) :]
        del self.starts[starts:]
        if self._snap_walks is not _NO_WALKS:
            del self.snap_times[k:], self.snap_costs[k:], self._snap_index[k:]
            del self._snap_walks[k:], self._snap_points[k:], self._snap_starts[k:]
        self._apply(index)

    def _apply(self, offset: int) -> None:
        """Apply `self._entries[offset:]` to the walk, extending the arrays."""
        walk, times, values = self._walk, self.times, self.values
        for index in range(offset, len(self._entries)):
            entry = self._entries[index]
            t, kind = entry[0], entry[1]
            if kind == SNAPSHOT:
                self._checkpoint(t, entry[5], index, walk)
            if step(walk, entry):
                self.starts.append(t)
            if kind == ORDER_LINE:
                continue
            cost = walk.cost if walk.cost is not None else self._first_cost
            if times:
                self.areas.append(values[-1] * (t - times[-1]))
            times.append(t)
            values.append(walk.on_hand * cost if walk.on_hand > 0 else 0.0)

    def _checkpoint(self, t: float, cost: float, index: int, walk: Walk) -> None:
        """Checkpoint at the snapshot `index`: the walk resumes here when a later entry is late."""
        if self._snap_walks is _NO_WALKS:
            self.snap_times, self.snap_costs = floats(), floats()
            self._snap_index, self._snap_points, self._snap_starts = ints(), ints(), ints()
            self._snap_walks = []
        self.snap_times.append(t)
        self.snap_costs.append(cost)
        self._snap_index.append(index)
        self._snap_walks.append(walk.state())
        self._snap_points.append(len(self.times))
        self._snap_starts.append(len(self.starts))

    def _build_cogs(self, reprice: bool) -> None:
        pending = sorted(self._lines_pending)
        self._lines_pending.clear()
        first = self._lines is _NO_LINES  # the arrays are still the shared stand-ins
        if first or reprice or (pending and self._lines and pending[0] < self._lines[-1]):
            self._lines = sorted(self._lines + pending)
            self.cogs_times, self.cogs_values = floats(), floats()
            pending = self._lines
        else:
            self._lines.extend(pending)
        for t, _event_id, quantity in pending:
            self.cogs_times.append(t)
            self.cogs_values.append(quantity * self.cost_at(t))

    def take_revalued_from(self) -> float:
        """The earliest time a value changed since the last call (inf: none); resets it."""
        found, self.revalued_from = self.revalued_from, math.inf
        return found

    def settled_episodes(self, until: float) -> int:
        """Episodes started at or before `until` (after a build), pruned history included."""
        later = len(self.starts) - bisect_right(self.starts, until)
        return self._walk.episodes - later

    # -- queries (after build) --------------------------------------------------------------

    def cost_at(self, t: float) -> float:
        """Unit cost at `t`: latest snapshot at or before `t`, else the first snapshot's, else 0."""
        i = bisect_right(self.snap_times, t) - 1
        if i >= 0:
            return self.snap_costs[i]
        return self.snap_costs[0] if self.snap_costs else 0.0

    def integral(self, a: float, b: float) -> float:
        """∫ value dt over `[a, b]` in $·s (value is 0 before the first inventory event)."""
        times = self.times
        j = bisect_right(times, b) - 1
        if b <= a or j < 0:
            return 0.0
        i = bisect_right(times, a) - 1
        if i < 0:
            i, a = 0, times[0]
        values = self.values
        if i == j:
            return values[i] * (b - a)
        head = values[i] * (times[i + 1] - a)
        tail = values[j] * (b - times[j])
        return math.fsum(chain((head, tail), self.areas[i + 1 : j]))

    def starts_between(self, lo: float, hi: float) -> int:
        """Stockout episodes started in `(lo, hi]`."""
        return bisect_right(self.starts, hi) - bisect_right(self.starts, lo)

    def cogs_between(self, lo: float, hi: float) -> float:
        """COGS of the dispatch lines in `(lo, hi]` ($)."""
        i, j = bisect_right(self.cogs_times, lo), bisect_right(self.cogs_times, hi)
        return math.fsum(self.cogs_values[i:j])

    @property
    def current(self) -> Walk:
        """State after every event seen (on_hand, in_transit, cost, stockout)."""
        return self._walk

    @property
    def unit_cost(self) -> float:
        """Unit cost of the latest snapshot (0 when there is none)."""
        return self._walk.cost if self._walk.cost is not None else self._first_cost

    @property
    def value(self) -> float:
        """Current value `max(on_hand, 0) * unit_cost` ($)."""
        return max(self._walk.on_hand, 0.0) * self.unit_cost

    # -- pruning ---------------------------------------------------------------------------

    def prune(self, cut: float) -> int:
        """Forget history before `cut`: returns the number of items dropped.

        The walk restarts at the latest snapshot before `cut` with the state it
        had just before it, so every value, episode and price at or after `cut`
        stays exactly as it was.
        """
        self.build()
        dropped = 0
        k = bisect_left(self.snap_times, cut) - 1
        if k >= 0 and self._snap_index[k] > 0:
            first_kept = self._snap_index[k]
            self._base = Walk.restore(self._snap_walks[k])
            self._entries = self._entries[first_kept:]
            dropped += first_kept
            self._resume(-1)
        j = bisect_left(self.cogs_times, cut)
        if j:
            del self._lines[:j], self.cogs_times[:j], self.cogs_values[:j]
        return dropped + j
