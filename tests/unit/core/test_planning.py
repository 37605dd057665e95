"""Planning system: policy stability, planner overrides and time-to-replan."""

from __future__ import annotations

import pytest

from streams.events import models as m
from tests.unit.core.factories import (
    HOUR,
    adjusted,
    applied,
    at,
    disruption,
    order,
    overridden,
    recommended,
    resolved,
    snapshot,
    tick,
)
from tests.unit.core.helpers import run, value


def policy_log() -> list[m.Event]:
    """Known SKU-locations A and B (C is only ordered); wm day 10, 7d window (day 3, day 10].

    Recommendations R0..R3 (days 4-7) and RX (day 2, outside 7d); R1 and RX are
    overridden (R1 twice), and one override names a recommendation never seen.
    """
    return [
        snapshot("A", 5, t=at(0)),
        adjusted("B", 5, t=at(0)),
        order("O1", [("l1", "C", 1, 1.0)], t=at(0), promised=at(1)),
        applied("A", t=at(1)),  # outside the 7d window
        applied("A", t=at(4)),
        applied("B", t=at(5)),
        applied("C", t=at(6)),
        *[recommended("A", t=at(4 + i), recommendation_id=f"R{i}") for i in range(4)],
        recommended("A", t=at(2), recommendation_id="RX"),  # outside the 7d window
        overridden("A", t=at(5), recommendation_id="R1"),
        overridden("A", t=at(5.5), recommendation_id="R1"),  # the same one again: counts once
        overridden("A", t=at(9), recommendation_id="RX"),  # overrides count whenever they come
        overridden("A", t=at(6), recommendation_id="R-unknown"),  # never in the ratio
        tick(t=at(10)),
    ]


@pytest.mark.parametrize(
    ("window", "metric", "expected"),
    [
        ("7d", "inventory_window_policy_changes", 3.0),
        ("7d", "inventory_policy_changes_per_sku_location", 3 / 2),
        ("30d", "inventory_policy_changes_per_sku_location", 4 / 2),
        ("7d", "inventory_window_policy_overrides", 1.0),  # R1
        ("7d", "inventory_window_policy_recommendations", 4.0),  # R0..R3
        ("7d", "inventory_planner_override_ratio", 1 / 4),
        ("30d", "inventory_planner_override_ratio", 2 / 5),  # R1 and RX of R0..R3, RX
    ],
)
def test_policy_stability_and_overrides(window: str, metric: str, expected: float) -> None:
    """Policy changes per SKU-location known from inventory events; the override rate is the
    share of the window's recommendations that have an override with their id."""
    assert value(run(policy_log()), metric, location="L1", window=window) == expected


def test_override_of_an_unknown_recommendation_is_counted_apart() -> None:
    """The override naming a recommendation never seen is in the unmatched counter only."""
    engine = run(policy_log())
    assert value(engine, "inventory_overrides_unmatched_total", location="L1") == 1.0


def test_override_before_its_recommendation_matches_it_but_stays_counted_unmatched() -> None:
    """Processed before its recommendation, an override is counted unmatched (a counter never
    goes down) and still matches the recommendation in the ratio once it arrives."""
    engine = run(
        [
            overridden("A", t=at(1), recommendation_id="R1"),
            recommended("A", t=at(0.5), recommendation_id="R1"),
            tick(t=at(2)),
        ]
    )
    assert value(engine, "inventory_overrides_unmatched_total", location="L1") == 1.0
    assert value(engine, "inventory_planner_override_ratio", location="L1", window="7d") == 1.0


def replan_log() -> list[m.Event]:
    """Replans at L1 (SKUs A, B known) and L2 (SKU X known); watermarks day 8.5 and day 7.

    D1 (L1, SKU A) replanned after 3h; D2 (everywhere) after 30 min at L1 and 2 days
    at L2; D3 (L1) is still waiting; D4 (L2) was resolved on day 6 and its only policy
    change came on day 7, after the resolution: never replanned, not waiting.
    """
    return [
        snapshot("A", 5, t=at(0)),
        snapshot("B", 5, t=at(0)),
        snapshot("X", 5, t=at(0), loc="L2"),
        disruption("D1", t=at(1), locations=["L1"], skus=["A"]),
        applied("B", t=at(1, hours=1)),  # B is not covered by D1
        applied("A", t=at(1, hours=3)),
        disruption("D2", t=at(2)),
        applied("B", t=at(2, hours=0.5)),
        applied("X", t=at(4), loc="L2"),
        disruption("D4", t=at(5), locations=["L2"]),
        resolved("D4", t=at(6)),
        applied("X", t=at(7), loc="L2"),  # after D4's resolution: not a replan
        disruption("D3", t=at(8), locations=["L1"]),  # no replan yet: no observation
        tick(t=at(8.5)),
    ]


@pytest.mark.parametrize(
    ("location", "le", "expected"),
    [
        ("L1", "3600.0", 1.0),
        ("L1", "7200.0", 1.0),
        ("L1", "14400.0", 2.0),
        ("L1", "+Inf", 2.0),
        ("L2", "86400.0", 0.0),
        ("L2", "172800.0", 1.0),
        ("L2", "+Inf", 1.0),
    ],
)
def test_time_to_replan_histogram_buckets(location: str, le: str, expected: float) -> None:
    """Buckets are cumulative over every disruption covering the location that was replanned."""
    engine = run(replan_log())
    got = value(engine, "inventory_time_to_replan_seconds_bucket", location=location, le=le)
    assert got == expected


@pytest.mark.parametrize(
    ("location", "count", "total"), [("L1", 2.0, 3 * HOUR + 0.5 * HOUR), ("L2", 1.0, 2 * 86400.0)]
)
def test_time_to_replan_histogram_count_and_sum(location: str, count: float, total: float) -> None:
    """`_count` and `_sum` cover the same observations."""
    engine = run(replan_log())
    assert value(engine, "inventory_time_to_replan_seconds_count", location=location) == count
    assert value(engine, "inventory_time_to_replan_seconds_sum", location=location) == total


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("7d", 0.5 * HOUR),  # (day 1.5, day 8.5]: only D2
        ("30d", (3 * HOUR + 0.5 * HOUR) / 2),  # D1 and D2: mean of the middle two
    ],
)
def test_time_to_replan_median(window: str, expected: float) -> None:
    """The median runs over disruptions reported in the window that were replanned."""
    engine = run(replan_log())
    got = value(engine, "inventory_time_to_replan_median_seconds", location="L1", window=window)
    assert got == expected


@pytest.mark.parametrize(
    ("location", "awaiting", "age"),
    [("L1", 1.0, 0.5 * 86400.0), ("L2", 0.0, None)],  # D3 since day 8, wm day 8.5
)
def test_disruptions_awaiting_a_replan(location: str, awaiting: float, age: float | None) -> None:
    """Active disruptions not replanned yet are counted per location, with the age of the oldest
    against the location's watermark; a resolved one no longer waits."""
    engine = run(replan_log())
    assert value(engine, "inventory_disruptions_awaiting_replan", location=location) == awaiting
    got = value(engine, "inventory_disruption_oldest_unreplanned_age_seconds", location=location)
    assert got == age


def test_no_histogram_before_any_replan() -> None:
    """A location no disruption has been replanned for exports no histogram series."""
    engine = run([snapshot("A", 5, t=at(0)), disruption("D1", t=at(1)), tick(t=at(2))])
    assert not [s for s in engine.samples() if s.name.startswith("inventory_time_to_replan")]
    assert value(engine, "inventory_disruptions_awaiting_replan", location="L1") == 1.0
