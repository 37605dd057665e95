"""The walk of one SKU-location's inventory entries in time order (see `position`).

Entries are `(time, kind, event_id, a, b, c)` tuples; `step` applies one to a
`Walk` and tells whether it starts a stockout episode. The position is unknown
until the first snapshot or adjustment; an order line meeting an unknown
position starts no episode (SPEC §4, stockout frequency).
"""

from __future__ import annotations

from array import array

SNAPSHOT, ADJUSTMENT, ORDER_LINE = 0, 1, 2

Entry = tuple[float, int, str, float, float, float]
"""`(time, kind, event_id, a, b, c)`: snapshot a=on_hand b=in_transit c=unit_cost;
adjustment a=delta; order line: no payload."""

WalkState = tuple[float, float, float | None, bool, float | None, int, bool]


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

    __slots__ = (
        "cost", "episodes", "in_transit", "known", "on_hand", "open_since", "stocked_out",
    )  # fmt: skip

    def __init__(self) -> None:
        self.on_hand = 0.0
        self.in_transit = 0.0
        self.cost: float | None = None  # latest snapshot's cost; None before the first one
        self.stocked_out = False
        self.open_since: float | None = None
        self.episodes = 0  # stockout episodes started, pruned history included
        self.known = False  # an inventory event was applied: the position is known

    def copy(self) -> Walk:
        return Walk.restore(self.state())

    def state(self) -> WalkState:
        """The walk as a tuple of plain values (kept per snapshot as a resume checkpoint)."""
        return (
            self.on_hand, self.in_transit, self.cost, self.stocked_out, self.open_since,
            self.episodes, self.known,
        )  # fmt: skip

    @staticmethod
    def restore(state: WalkState) -> Walk:
        walk = Walk()
        (
            walk.on_hand, walk.in_transit, walk.cost, walk.stocked_out, walk.open_since,
            walk.episodes, walk.known,
        ) = state  # fmt: skip
        return walk


def step(walk: Walk, entry: Entry) -> bool:
    """Apply one entry to `walk`; True when it starts a stockout episode.

    An episode starts when on_hand goes from > 0 to <= 0, or when an order line
    arrives while the position is known, on_hand <= 0 and no episode is open; it
    ends when on_hand > 0.
    """
    t, kind, _event_id, a, b, c = entry
    if kind == ORDER_LINE:
        if walk.known and walk.on_hand <= 0 and not walk.stocked_out:
            walk.stocked_out, walk.open_since = True, t
            walk.episodes += 1
            return True
        return False
    before = walk.on_hand
    walk.known = True
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
