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
    snapshot,
    tick,
)
from tests.unit.core.helpers import run, value


def policy_log() -> list[m.Event]:
    """Known SKU-locations A and B (C is only ordered); wm day 10, 7d window (day 3, day 10]."""
    return [
        snapshot("A", 5, t=at(0)),
        adjusted("B", 5, t=at(0)),
        order("O1", [("l1", "C", 1, 1.0)], t=at(0), promised=at(1)),
        applied("A", t=at(1)),  # outside the 7d window
        applied("A", t=at(4)),
        applied("B", t=at(5)),
        applied("C", t=at(6)),
        *[recommended("A", t=at(4 + i)) for i in range(4)],
        recommended("A", t=at(2)),  # outside the 7d window
        overridden("A", t=at(5)),
        tick(t=at(10)),
    ]


@pytest.mark.parametrize(
    ("window", "metric", "expected"),
    [
        ("7d", "inventory_window_policy_changes", 3.0),
        ("7d", "inventory_policy_changes_per_sku_location", 3 / 2),
        ("30d", "inventory_policy_changes_per_sku_location", 4 / 2),
        ("7d", "inventory_window_policy_overrides", 1.0),
        ("7d", "inventory_window_policy_recommendations", 4.0),
        ("7d", "inventory_planner_override_ratio", 1 / 4),
        ("30d", "inventory_planner_override_ratio", 1 / 5),
    ],
)
def test_policy_stability_and_overrides(window: str, metric: str, expected: float) -> None:
    """Policy changes per SKU-location known from inventory events, overrides per recommendation."""
    assert value(run(policy_log()), metric, location="L1", window=window) == expected


def replan_log() -> list[m.Event]:
    """D1 (L1, SKU A) replanned after 3h; D2 (everywhere) after 30 min at L1 and 2 days at L2."""
    return [
        snapshot("A", 5, t=at(0)),
        snapshot("X", 5, t=at(0), loc="L2"),
        disruption("D1", t=at(1), locations=["L1"], skus=["A"]),
        applied("B", t=at(1, hours=1)),  # B is not covered by D1
        applied("A", t=at(1, hours=3)),
        disruption("D2", t=at(2)),
        applied("B", t=at(2, hours=0.5)),
        applied("X", t=at(4), loc="L2"),
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


def test_no_histogram_before_any_replan() -> None:
    """A location no disruption has been replanned for exports no histogram series."""
    engine = run([snapshot("A", 5, t=at(0)), disruption("D1", t=at(1)), tick(t=at(2))])
    assert not [s for s in engine.samples() if s.name.startswith("inventory_time_to_replan")]
