"""The policy source in force at a time (SPEC §4.3 cohorts), from a SKU-location's policies."""

from __future__ import annotations

from bisect import bisect_right

import pytest

from streams.core.cohorts import changes_within, policy_source, sources_by_sku

APPLIED = [(10.0, "e1", ""), (20.0, "e2", "R1"), (30.0, "e3", "R2")]


@pytest.mark.parametrize(
    ("t", "overridden", "expected"),
    [
        (5.0, set(), "none"),  # before any policy
        (10.0, set(), "planner"),  # applied at 10 naming no recommendation, in force at 10
        (15.0, set(), "planner"),
        (20.0, set(), "model"),  # R1, not overridden
        (25.0, {"R1"}, "planner"),  # R1 overridden: the planner's policy
        (35.0, {"R1"}, "model"),  # R2
        (35.0, {"R2"}, "planner"),
    ],
)
def test_policy_source(t: float, overridden: set[str], expected: str) -> None:
    """The latest policy applied at or before t decides; an overridden recommendation is the
    planner's, one without a recommendation too, and before any policy it is none."""
    assert policy_source(APPLIED, t, overridden) == expected
    times, sources = sources_by_sku({"S": APPLIED}, overridden)["S"]
    assert sources[bisect_right(times, t)] == expected  # the table agrees with the function


@pytest.mark.parametrize(
    ("lo", "hi", "expected"), [(0.0, 10.0, False), (0.0, 10.5, True), (10.0, 20.0, False)]
)
def test_changes_within(lo: float, hi: float, expected: bool) -> None:
    """A policy applied strictly inside (lo, hi) may change the source between buckets."""
    assert changes_within(APPLIED, lo, hi) is expected
