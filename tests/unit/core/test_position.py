"""The open-bucket ledger: value step function, integrals, prices, incremental builds, folds."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import pytest

from streams.core.position import (
    ADJUSTMENT,
    ORDER_LINE,
    SNAPSHOT,
    Entry,
    InventoryLedger,
    Line,
    Walk,
)


def snap(t: float, on_hand: float, cost: float, eid: str = "s") -> Entry:
    return (t, SNAPSHOT, f"{eid}{t}", on_hand, 0.0, cost)


def adj(t: float, delta: float) -> Entry:
    return (t, ADJUSTMENT, f"a{t}", delta, 0.0, 0.0)


def line(t: float) -> Entry:
    return (t, ORDER_LINE, f"o{t}", 0.0, 0.0, 0.0)


def built(entries: list[Entry], lines: Sequence[Line] = ()) -> InventoryLedger:
    ledger = InventoryLedger(Walk())
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
    assert ledger.cogs_between(5, 5) == 20.0  # both ends are inside: [lo, hi]


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
    ledger = InventoryLedger(Walk())
    for i, entry in enumerate(entries):
        ledger.add(entry)
        if i < len(lines):
            ledger.add_line(lines[i])
        if rng.random() < 0.2:
            ledger.build()
    ledger.build()
    for name in ("times", "values", "cum", "starts", "snap_times", "cogs_times", "cogs_cum"):
        assert list(getattr(ledger, name)) == list(getattr(reference, name)), name
    assert ledger.current.episodes == reference.current.episodes


def test_fold_closes_buckets_into_totals_and_a_new_base() -> None:
    """Folding buckets of 10 s: per-bucket integral, COGS, starts and snapshots, and the walk
    from the cut on unchanged (values 5 on [0, 1), 0 on [1, 2), 8 on [2, 6), 0 on [6, 7),
    20 on [7, ...))."""
    entries = [snap(0, 5, 1), adj(1, -5), snap(2, 4, 2), adj(6, -4), snap(7, 10, 2), adj(12, 1)]
    ledger = built(entries, [(3.0, "d1", 1.0), (15.0, "d2", 2.0)])
    after = (ledger.integral(10, 20), ledger.cogs_between(10, 20), ledger.current.on_hand)
    folded = ledger.fold(0.0, 10.0, 10.0)
    assert folded.integral == [5 * 1 + 8 * 4 + 20 * 3]
    assert (folded.cogs, folded.shipped, folded.starts) == ([2.0], [1.0], [2])
    assert (folded.snap_first, folded.snap_last, folded.cost_end) == ([0.0], [7.0], [2.0])
    assert folded.units == [0.0]  # no cost in the base: reported, but nothing came before it
    ledger.build()
    assert ledger.base.on_hand == 10.0 and ledger.base.episodes == 2
    assert (ledger.integral(10, 20), ledger.cogs_between(10, 20), ledger.current.on_hand) == after


def test_fold_reports_unpriced_unit_seconds_before_any_snapshot() -> None:
    """Without any snapshot, values are priced at 0 and their unit-seconds reported."""
    ledger = built([adj(2, 3)], [(4.0, "d1", 1.0)])
    folded = ledger.fold(0.0, 10.0, 10.0)
    assert (folded.integral, folded.units, folded.cogs, folded.shipped) == (
        [0.0],
        [3 * 8.0],
        [0.0],
        [1.0],
    )
    assert math.isnan(folded.cost_end[0]) and ledger.empty
