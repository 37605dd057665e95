"""The inventory ledger: value step function, integrals, prices and incremental builds."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from streams.core.position import ADJUSTMENT, ORDER_LINE, SNAPSHOT, Entry, InventoryLedger, Line


def snap(t: float, on_hand: float, cost: float, eid: str = "s") -> Entry:
    return (t, SNAPSHOT, f"{eid}{t}", on_hand, 0.0, cost)


def adj(t: float, delta: float) -> Entry:
    return (t, ADJUSTMENT, f"a{t}", delta, 0.0, 0.0)


def line(t: float) -> Entry:
    return (t, ORDER_LINE, f"o{t}", 0.0, 0.0, 0.0)


def built(entries: list[Entry], lines: Sequence[Line] = ()) -> InventoryLedger:
    ledger = InventoryLedger()
    for entry in entries:
        ledger.add(entry)
    for item in lines:
        ledger.add_line(item)
    ledger.build()
    return ledger


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (0.0, 10.0, 20 * 2 + 10 * 2 + 60 * 6),  # whole span
        (1.0, 3.0, 20 * 1 + 10 * 1),  # inside two segments
        (-5.0, 1.0, 20 * 1),  # value 0 before the first event
        (5.0, 5.0, 0.0),  # empty interval
        (4.0, 4.5, 60 * 0.5),  # a single segment
    ],
)
def test_integral(a: float, b: float, expected: float) -> None:
    """∫ value dt over [a, b] of the step function 20 (0-2), 10 (2-4), 60 (4-)."""
    ledger = built([snap(0, 10, 2), adj(2, -5), snap(4, 20, 3)])
    assert ledger.integral(a, b) == expected


@pytest.mark.parametrize(
    ("t", "cost"), [(-1.0, 2.0), (0.0, 2.0), (3.9, 2.0), (4.0, 3.0), (9.0, 3.0)]
)
def test_cost_at(t: float, cost: float) -> None:
    """The latest snapshot at or before t prices it; before the first, the first snapshot does."""
    assert built([snap(0, 10, 2), snap(4, 20, 3)]).cost_at(t) == cost


def test_cogs_are_priced_at_dispatch_time_and_repriced_by_late_snapshots() -> None:
    """A snapshot arriving after a dispatch line it precedes changes that line's price."""
    ledger = built([snap(0, 10, 2)], [(5.0, "d1", 4.0)])
    assert ledger.cogs_between(0, 10) == 8.0
    ledger.add(snap(3, 10, 5))
    ledger.build()
    assert ledger.cogs_between(0, 10) == 20.0


def test_negative_on_hand_has_no_value_and_starts_one_episode() -> None:
    """on_hand below zero is valued at 0 and stays one stockout episode."""
    ledger = built([snap(0, 2, 1), adj(1, -5), line(2), adj(3, 1)])
    assert ledger.integral(0, 4) == 2.0
    assert (ledger.starts_between(-1, 9), ledger.current.on_hand, ledger.current.stocked_out) == (
        1,
        -2.0,
        True,
    )


@pytest.mark.parametrize("seed", range(6))
def test_incremental_builds_equal_one_build(seed: int) -> None:
    """Entries arriving in any order with builds in between end in the same arrays as one build."""
    rng = random.Random(seed)
    entries: list[Entry] = []
    for i in range(120):
        t = float(rng.randrange(0, 60))
        kind = rng.random()
        if kind < 0.3:
            entries.append(
                (t, SNAPSHOT, f"s{i}", float(rng.randrange(0, 5)), 1.0, rng.choice([1.0, 2.5]))
            )
        elif kind < 0.7:
            entries.append((t, ADJUSTMENT, f"a{i}", float(rng.randrange(-3, 4)), 0.0, 0.0))
        else:
            entries.append((t, ORDER_LINE, f"o{i}", 0.0, 0.0, 0.0))
    lines = [(float(rng.randrange(0, 60)), f"d{i}", float(rng.randrange(1, 4))) for i in range(40)]
    reference = built(sorted(entries), sorted(lines))
    rng.shuffle(entries)
    rng.shuffle(lines)
    ledger = InventoryLedger()
    for i, entry in enumerate(entries):
        ledger.add(entry)
        if i < len(lines):
            ledger.add_line(lines[i])
        if rng.random() < 0.2:
            ledger.build()
    ledger.build()
    for name in ("times", "values", "areas", "starts", "snap_times", "cogs_times", "cogs_values"):
        assert list(getattr(ledger, name)) == list(getattr(reference, name)), name
    assert ledger.current.episodes == reference.current.episodes


def test_prune_keeps_everything_from_the_cut() -> None:
    """After pruning, integrals, prices and episode counts from the cut on are unchanged."""
    entries = [snap(0, 5, 1), adj(1, -5), snap(2, 4, 2), adj(3, 1), snap(6, 0, 3), adj(7, 2)]
    ledger = built(entries, [(1.0, "d1", 1.0), (5.0, "d2", 2.0)])
    before = (ledger.integral(4, 9), ledger.cogs_between(4, 9), ledger.current.episodes)
    assert ledger.prune(4.0) > 0
    assert (ledger.integral(4, 9), ledger.cogs_between(4, 9), ledger.current.episodes) == before


def test_ledgers_without_snapshots_or_lines_share_stand_ins_that_stay_empty() -> None:
    """The shared empty checkpoint and COGS stand-ins are swapped out, never written."""
    from streams.core import position

    bare = built([adj(1, 2), line(2)])
    assert bare.snap_times is position._NO_FLOATS and bare.cogs_times is position._NO_FLOATS
    assert (bare.cost_at(3), bare.cogs_between(0, 9)) == (0.0, 0.0)
    assert bare.prune(1.5) == 0
    full = built([adj(1, 2), snap(2, 4, 2), line(3)], [(4.0, "d1", 1.0)])
    full.add(adj(0.5, 1))  # late: resumes from the start
    full.add_line((0.5, "d0", 1.0))
    full.build()
    full.prune(2.5)
    assert list(full.snap_times) == [2.0] and list(full.cogs_times) == [4.0]
    stand_ins = (position._NO_FLOATS, position._NO_INTS, position._NO_WALKS, position._NO_LINES)
    assert [len(s) for s in stand_ins] == [0, 0, 0, 0]
