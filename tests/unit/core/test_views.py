"""Views for the alert evaluator: SKU-location outlook, disruptions, location KPIs."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest

from streams.events import models as m
from tests.unit.core.factories import (
    at,
    dispatch,
    disruption,
    order,
    received,
    resolved,
    snapshot,
    tick,
    ts,
)
from tests.unit.core.helpers import run

Z95 = NormalDist().inv_cdf(0.95)


def outlook_log() -> list[m.Event]:
    """A: daily demand 2, 4, 6, 8; supplier lead times 2 and 4 days. B: short of cover."""
    return [
        snapshot("A", 40, in_transit=5, unit_cost=2.0, t=at(0), supplier_id="S1", sku_class="A"),
        *[
            order(f"OA{i}", [("l1", "A", 2.0 * (i + 1), 1.0)], t=at(i + 0.5), promised=at(9))
            for i in range(4)
        ],
        received("S1", "A", t=at(1), ordered=at(-1)),
        received("S1", "A", t=at(2), ordered=at(-2)),
        snapshot("B", 2, t=at(0)),
        order("OB", [("l1", "B", 4, 1.0)], t=at(2), promised=at(9), tier="strategic"),
        tick(t=at(4)),
    ]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("expected_daily_demand", 5.0),
        ("demand_std", math.sqrt(5.0)),
        ("lead_time_days", 3.0),
        ("lead_time_std_days", 1.0),
        ("days_of_cover", 9.0),  # (40 + 5) / 5
        ("safety_stock", Z95 * math.sqrt(3.0 * 5.0 + 25.0 * 1.0)),
        ("projected_stockout_at", ts(4) + 9 * 86400.0),  # from the location's watermark
        ("at_risk", False),
        ("value", 80.0),
        ("sku_class", "A"),
        ("supplier_id", "S1"),
        ("has_open_strategic_orders", False),
    ],
)
def test_sku_location_outlook(field: str, expected: object) -> None:
    """Demand and lead-time spread, cover, safety stock and projected stockout of a SKU."""
    view = {v.sku: v for v in run(outlook_log()).sku_locations()}["A"]
    got = getattr(view, field)
    assert got == (pytest.approx(expected, rel=1e-12) if isinstance(expected, float) else expected)


@pytest.mark.parametrize(
    ("covered_days", "expected"),
    [(1.25, 8.0), (0.5, 20.0), (4.0, 2.5)],  # 10 units over the covered days
)
def test_expected_daily_demand_divides_by_fractional_covered_days(
    covered_days: float, expected: float
) -> None:
    """A young monitor divides demand by the covered span in days, not by whole-day buckets."""
    events = [
        snapshot("A", 100, t=at(0)),
        order("O1", [("l1", "A", 10, 1.0)], t=at(covered_days / 2), promised=at(9)),
        tick(t=at(covered_days)),
    ]
    [view] = run(events).sku_locations()
    assert view.expected_daily_demand == expected
    assert view.days_of_cover == 100 / expected
    assert view.projected_stockout_at == ts(covered_days) + 100 / expected * 86400.0


def test_projected_stockout_inside_the_lead_time_is_at_risk() -> None:
    """B covers 2 / (4/4) = 2 days, less than the default 7-day lead time."""
    views = {v.sku: v for v in run(outlook_log()).sku_locations()}
    assert (views["B"].days_of_cover, views["B"].lead_time_days, views["B"].at_risk) == (
        2.0,
        7.0,
        True,
    )
    assert views["B"].has_open_strategic_orders


def test_open_strategic_orders_close_when_fully_shipped() -> None:
    """Once every line of the strategic order is shipped in full it no longer counts."""
    events = [*outlook_log(), dispatch("S1", "OB", [("l1", "B", 4)], t=at(3))]
    views = {v.sku: v for v in run(events).sku_locations()}
    assert not views["B"].has_open_strategic_orders


def test_projected_stockout_count_and_top_days_of_cover() -> None:
    """Point gauges count SKU-locations at risk and list the ones closest to stockout."""
    engine = run(outlook_log(), top_at_risk=1)
    named = {(s.name, s.labels): s.value for s in engine.samples()}
    assert named[("inventory_projected_stockout_sku_locations", (("location", "L1"),))] == 1.0
    covers = [s for s in engine.samples() if s.name == "inventory_at_risk_days_of_cover"]
    assert [(dict(s.labels)["sku"], s.value) for s in covers] == [("B", 2.0)]


def test_disruption_view() -> None:
    """A disruption lists the SKU-locations it covers, their value and projected stockouts."""
    engine = run([*outlook_log(), disruption("D1", t=at(3), locations=["L1"], severity="critical")])
    [view] = engine.disruptions()
    assert (view.disruption_id, view.severity, view.active) == ("D1", "critical", True)
    assert view.covered == (("L1", "A"), ("L1", "B"))
    assert view.value_at_risk == 80.0 + 2.0
    assert view.projected_stockouts == (("L1", "B"),)
    assert view.reported_at == ts(3)


def test_resolved_disruption_view_covers_nothing() -> None:
    """Once resolved, a disruption keeps its times but puts nothing at risk."""
    events = [
        *outlook_log(),
        disruption("D1", t=at(3), locations=["L1"]),
        resolved("D1", t=at(3.5)),
    ]
    [view] = run(events).disruptions()
    assert (view.active, view.resolved_at, view.covered, view.value_at_risk) == (
        False,
        ts(3.5),
        (),
        0.0,
    )


def test_location_kpis_by_short_name() -> None:
    """Alert rules read the ratio KPIs of a location and window; absent ones are left out."""
    engine = run([*outlook_log(), dispatch("S1", "OB", [("l1", "B", 2)], t=at(3))])
    kpis = engine.location_kpis("L1", "7d")
    assert kpis["inventory_value"] == 82.0
    assert "fill_rate" not in kpis  # nothing is due before day 9
    assert engine.location_kpis("L1", "1d") == {}
    assert engine.location_kpis("nowhere", "7d") == {}
    assert engine.watermark("L1") == ts(4)
    assert engine.watermark("nowhere") is None
