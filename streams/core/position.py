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
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from itertools import chain

SNAPSHOT, ADJUSTMENT, ORDER_LINE = 0, 1, 2

Entry = tuple[float, int, str, float, float, float]
"""`(time, kind, event_id, a, b, c)`: snapshot a=on_hand b=in_transit c=unit_cost;
adjustment a=delta; order line: no payload."""

WalkState = tuple[float, float, float | None, bool, float | None, int]


def floats() -> array[float]:
    """An empty array of doubles."""
    return array("d")


def ints() -> array[int]:
    """An empty array of 64-bit integers."""
    return array("q")


Line = tuple[float, str, float]
"""A dispatch line of this SKU-location: `(time, event_id, quantity)`."""


class Walk:
    """State of the time-ordered walk after the entries applied so far."""

    __slots__ = ("cost", "episodes", "in_transit", "on_hand", "open_since", "stocked_out")

    def __init__(self) -> None:
        self.on_hand = 0.0
        self.in_transit = 0.0
        self.cost: float | None = None  # latest snapshot's cost; None before the first one
        self.stocked_out = False
        self.open_since: float | None = None
        self.episodes = 0  # stockout episodes started, pruned history included

    def copy(self) -> Walk:
        return Walk.restore(self.state())

    def state(self) -> WalkState:
        """The walk as a tuple of plain values (kept per snapshot as a resume checkpoint)."""
        return (
            self.on_hand, self.in_transit, self.cost, self.stocked_out, self.open_since,
            self.episodes,
        )  # fmt: skip

    @staticmethod
    def restore(state: WalkState) -> Walk:
        walk = Walk()
        (
            walk.on_hand, walk.in_transit, walk.cost, walk.stocked_out, walk.open_since,
            walk.episodes,
        ) = state  # fmt: skip
        return walk


def step(walk: Walk, entry: Entry) -> bool:
    """Apply one entry to `walk`; True when it starts a stockout episode.

    An episode starts when on_hand goes from > 0 to <= 0, or when an order line
    arrives while on_hand <= 0 and no episode is open; it ends when on_hand > 0.
    """
    t, kind, _event_id, a, b, c = entry
    if kind == ORDER_LINE:
        if walk.on_hand <= 0 and not walk.stocked_out:
            walk.stocked_out, walk.open_since = True, t
            walk.episodes += 1
            return True
        return False
    before = walk.on_hand
    if kind == SNAPSHOT:
        walk.on_hand, walk.in_transit, walk.cost = a, b, c
    else:
        walk.on_hand = before + a
    if walk.on_hand > 0:
        walk.stocked_out, walk.open_since = False, None
    elif before > 0:
        walk.stocked_out, walk.open_since = True, t
        walk.episodes += 1
        return True
    return False


class InventoryLedger:
    """Raw inventory events of one SKU-location and the walk built from them."""

    def __init__(self) -> None:
        self._entries: list[Entry] = []
        self._pending: list[Entry] = []
        self._lines: list[Line] = []
        self._lines_pending: list[Line] = []
        # Recording is a bare append (the hottest path of the engine): `add` records a
        # snapshot, adjustment or order-line entry, `add_line` a dispatch line.
        self.add: Callable[[Entry], None] = self._pending.append
        self.add_line: Callable[[Line], None] = self._lines_pending.append
        self._base = Walk()  # state before the first kept entry (after pruning)
        self._walk = Walk()
        self._first_cost = 0.0  # prices value before the first snapshot
        # Numbers live in typed arrays, not lists: the garbage collector does not walk them.
        self.times = floats()  # change points of the value step function
        self.values = floats()  # value from each change point on ($)
        self.areas = floats()  # areas[k] = values[k] * (times[k+1] - times[k]) ($*s)
        self.starts = floats()  # stockout episode starts (kept history)
        self.snap_times = floats()
        self.snap_costs = floats()
        self._snap_index = ints()  # per snapshot: its entry index, the walk before it,
        self._snap_walks: list[WalkState] = []  # and the array lengths then (resume checkpoints)
        self._snap_points = ints()
        self._snap_starts = ints()
        self.cogs_times = floats()
        self.cogs_values = floats()  # quantity * unit_cost(dispatch time) ($)
        self.revalued_from = math.inf  # after a build: values may have changed from here on
        self._replay_all = False  # set when an applied entry was withdrawn

    # -- recording (O(1), no computation) --------------------------------------------------

    def remove(self, entry: Entry) -> None:
        """Withdraw a recorded entry (an order placement displaced by an earlier one).

        Rare, so it simply makes the next build replay everything.
        """
        if entry in self._pending:
            self._pending.remove(entry)
        elif entry in self._entries:
            self._entries.remove(entry)
            self._replay_all = True

    # -- building -------------------------------------------------------------------------

    def build(self) -> None:
        """Bring the walk and COGS up to date with everything recorded."""
        reprice = False  # True when a new snapshot changes the price of recorded lines
        self.revalued_from = math.inf
        if self._pending or self._replay_all:
            pending = sorted(self._pending)
            self._pending.clear()
            old_first = self.snap_times[0] if self.snap_times else math.inf
            first_snapshot = min((e[0] for e in pending if e[1] == SNAPSHOT), default=math.inf)
            changes = [e[0] for e in pending if e[1] != ORDER_LINE]
            self.revalued_from = min(changes, default=math.inf)
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
            self._walk = self._base.copy()
            self._first_cost = next((e[5] for e in self._entries if e[1] == SNAPSHOT), 0.0)
            k, index, points, starts = 0, 0, 0, 0
        else:
            self._walk = Walk.restore(self._snap_walks[k])
            index, points, starts = self._snap_index[k], self._snap_points[k], self._snap_starts[k]
        del self.times[points:], self.values[points:], self.areas[max(points - 1, 0) :]
        del self.starts[starts:]
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
                # Checkpoint: the walk can resume here when a late entry lands after it.
                self.snap_times.append(t)
                self.snap_costs.append(entry[5])
                self._snap_index.append(index)
                self._snap_walks.append(walk.state())
                self._snap_points.append(len(times))
                self._snap_starts.append(len(self.starts))
            if step(walk, entry):
                self.starts.append(t)
            if kind == ORDER_LINE:
                continue
            cost = walk.cost if walk.cost is not None else self._first_cost
            if times:
                self.areas.append(values[-1] * (t - times[-1]))
            times.append(t)
            values.append(walk.on_hand * cost if walk.on_hand > 0 else 0.0)

    def _build_cogs(self, reprice: bool) -> None:
        pending = sorted(self._lines_pending)
        self._lines_pending.clear()
        if reprice or (pending and self._lines and pending[0] < self._lines[-1]):
            self._lines = sorted(self._lines + pending)
            self.cogs_times, self.cogs_values = floats(), floats()
            pending = self._lines
        else:
            self._lines.extend(pending)
        for t, _event_id, quantity in pending:
            self.cogs_times.append(t)
            self.cogs_values.append(quantity * self.cost_at(t))

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

    def prune(self, cut: float) -> tuple[int, Sequence[float]]:
        """Forget history before `cut`: returns (items dropped, COGS of dropped lines).

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
        pruned = self.cogs_values[:j]
        del self._lines[:j], self.cogs_times[:j], self.cogs_values[:j]
        return dropped + j, pruned
