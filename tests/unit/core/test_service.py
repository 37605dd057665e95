"""Service: fill rate, line fill, OTIF and their region/channel/tier detail."""

from __future__ import annotations

import pytest

from streams.events import models as m
from tests.unit.core.factories import at, cancel, delivered, dispatch, order, tick
from tests.unit.core.helpers import run, value


def service_log() -> list[m.Event]:
    """Three orders due by day 5, one cancelled, one not yet due."""
    return [
        # O1 (north/web/standard): l1 10 A shipped 6+2 = 8, l2 5 B shipped; S2 delivered late.
        order("O1", [("l1", "A", 10, 5.0), ("l2", "B", 5, 2.0)], t=at(0), promised=at(2)),
        dispatch("S1", "O1", [("l1", "A", 6), ("l2", "B", 5)], t=at(1)),
        dispatch("S2", "O1", [("l1", "A", 2)], t=at(1.5)),
        delivered("S1", "O1", t=at(1.5)),
        delivered("S2", "O1", t=at(3)),
        # O2: cancelled, never in the population.
        order("O2", [("l1", "A", 4, 5.0)], t=at(0), promised=at(3)),
        cancel("O2", t=at(1)),
        # O3: promised after the watermark, not due yet.
        order("O3", [("l1", "A", 6, 5.0)], t=at(1), promised=at(20)),
        # O4 (south/store/key): shipped in full (over-shipped: capped), delivered on time.
        order("O4", [("l1", "C", 3, 1.0)], t=at(1), promised=at(4), region="south",
              channel="store", tier="key"),
        dispatch("S3", "O4", [("l1", "C", 3)], t=at(2)),
        dispatch("S5", "O4", [("l1", "C", 2)], t=at(2)),
        delivered("S3", "O4", t=at(3.5)),
        # O5 (north/web/strategic): shipped in full, delivered after the promise.
        order("O5", [("l1", "C", 2, 1.0)], t=at(1), promised=at(4), tier="strategic"),
        dispatch("S4", "O5", [("l1", "C", 2)], t=at(2)),
        delivered("S4", "O5", t=at(4.5)),
        tick(t=at(5)),
    ]  # fmt: skip


@pytest.mark.parametrize("window", ["7d", "30d"])
@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("inventory_fill_rate_ratio", 18 / 20),  # (8 + 5 + 3 + 2) / (10 + 5 + 3 + 2)
        ("inventory_line_fill_rate_ratio", 3 / 4),
        ("inventory_otif_ratio", 1 / 3),
    ],
)
def test_service_ratios(metric: str, window: str, expected: float) -> None:
    """Partial and over-shipments are capped per line, cancelled and not-yet-due orders left out."""
    assert value(run(service_log()), metric, location="L1", window=window) == expected


@pytest.mark.parametrize(
    ("metric", "labels", "expected"),
    [
        ("inventory_fill_rate_by_region_ratio", {"region": "north"}, 15 / 17),
        ("inventory_fill_rate_by_region_ratio", {"region": "south"}, 1.0),
        ("inventory_otif_by_region_ratio", {"region": "north"}, 0.0),
        ("inventory_otif_by_channel_ratio", {"channel": "store"}, 1.0),
        ("inventory_fill_rate_by_customer_tier_ratio", {"customer_tier": "strategic"}, 1.0),
        ("inventory_fill_rate_by_customer_tier_ratio", {"customer_tier": "standard"}, 13 / 15),
        ("inventory_otif_by_customer_tier_ratio", {"customer_tier": "key"}, 1.0),
    ],
)
def test_service_by_one_dimension(metric: str, labels: dict[str, str], expected: float) -> None:
    """Ratios by region, channel and tier combine the groups sharing that value."""
    engine = run(service_log())
    assert value(engine, metric, location="L1", window="7d", **labels) == expected


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("inventory_window_units_ordered", 15.0),
        ("inventory_window_units_shipped", 13.0),
        ("inventory_window_order_lines", 2.0),
        ("inventory_window_order_lines_filled", 1.0),
        ("inventory_window_orders_due", 1.0),
        ("inventory_window_orders_otif", 0.0),
    ],
)
def test_service_detail_per_group(metric: str, expected: float) -> None:
    """Numerators and denominators are exported per (region, channel, customer_tier) group."""
    group = {"region": "north", "channel": "web", "customer_tier": "standard"}
    assert value(run(service_log()), metric, location="L1", window="7d", **group) == expected


def test_groups_without_orders_due_have_no_detail_series() -> None:
    """A group with no order due in the window exports nothing (0 is implied)."""
    engine = run(service_log())
    names = {s.name for s in engine.samples() if dict(s.labels).get("customer_tier") == "premium"}
    assert names == set()
    detail = [s for s in engine.samples() if s.name == "inventory_window_orders_due"]
    assert {dict(s.labels)["customer_tier"] for s in detail} == {"standard", "key", "strategic"}


def test_shipment_and_delivery_before_their_order() -> None:
    """A dispatch and delivery seen before their order count once the order arrives."""
    events = service_log()
    reordered = [e for e in events if e.event_type != "order.placed"] + [
        e for e in events if e.event_type == "order.placed"
    ]
    engine = run(reordered)
    assert value(engine, "inventory_otif_ratio", location="L1", window="7d") == 1 / 3
    assert value(engine, "inventory_fill_rate_ratio", location="L1", window="7d") == 18 / 20


@pytest.mark.parametrize(("arrival", "units_counted"), [("in order", 10.0), ("reversed", 99.0)])
def test_a_re_placed_order_id_counts_once_as_its_earliest_placement(
    arrival: str, units_counted: float
) -> None:
    """A second order.placed with the same id leaves the service KPIs on the earliest placement,
    whichever arrives first; the units counter keeps the first placement processed (it never
    goes down when a re-publication displaces it)."""
    first = order("O1", [("l1", "A", 10, 5.0)], t=at(0), promised=at(2))
    again = order("O1", [("l1", "A", 99, 5.0)], t=at(1), promised=at(2))
    events = [first, again] if arrival == "in order" else [again, first]
    engine = run([*events, dispatch("S1", "O1", [("l1", "A", 5)], t=at(1)), tick(t=at(3))])
    assert value(engine, "inventory_fill_rate_ratio", location="L1", window="7d") == 0.5
    assert value(engine, "inventory_units_ordered_total", location="L1") == units_counted
