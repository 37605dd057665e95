"""Trade-offs: service per $1M, the cost-to-service curve and working capital at risk."""

from __future__ import annotations

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
)
from tests.unit.core.helpers import run, value


def test_service_level_per_million_dollars() -> None:
    """Fill rate 0.8 over an average inventory of $0.5M is 1.6 per $1M."""
    engine = run(
        [
            snapshot("A", 1000, unit_cost=500.0, t=at(0)),
            order("O1", [("l1", "A", 10, 1.0)], t=at(0), promised=at(2)),
            dispatch("S1", "O1", [("l1", "A", 8)], t=at(1)),
            tick(t=at(4)),
        ]
    )
    got = value(engine, "inventory_service_level_per_million_dollars", location="L1", window="7d")
    assert got == pytest.approx(1.6, rel=1e-12)


def curve_log(first_day: float = 0.0) -> list[m.Event]:
    """Daily value $1000, $2000, $4000 and fill rates 0.5, 0.8, 1.0 on days 0, 1, 2."""
    return [
        snapshot("A", 100, unit_cost=10.0, t=at(first_day)),
        snapshot("A", 200, unit_cost=10.0, t=at(1)),
        snapshot("A", 400, unit_cost=10.0, t=at(2)),
        order("O1", [("l1", "A", 10, 1.0)], t=at(first_day), promised=at(0.5)),
        dispatch("S1", "O1", [("l1", "A", 5)], t=at(first_day)),
        order("O2", [("l1", "A", 10, 1.0)], t=at(1), promised=at(1.5)),
        dispatch("S2", "O2", [("l1", "A", 8)], t=at(1)),
        order("O3", [("l1", "A", 10, 1.0)], t=at(2), promised=at(2.5)),
        dispatch("S3", "O3", [("l1", "A", 10)], t=at(2)),
        order("O4", [("l1", "A", 10, 1.0)], t=at(2), promised=at(3)),  # period of day 3: open
        tick(t=at(3)),
    ]


@pytest.mark.parametrize(
    ("metric", "period", "expected"),
    [
        ("inventory_cost_to_service_fill_rate_ratio", "2024-03-01", 0.5),
        ("inventory_cost_to_service_fill_rate_ratio", "2024-03-02", 0.8),
        ("inventory_cost_to_service_fill_rate_ratio", "2024-03-03", 1.0),
        ("inventory_cost_to_service_average_value_dollars", "2024-03-01", 1000.0),
        ("inventory_cost_to_service_average_value_dollars", "2024-03-02", 2000.0),
        ("inventory_cost_to_service_average_value_dollars", "2024-03-03", 4000.0),
        ("inventory_cost_to_service_fill_rate_ratio", "2024-03-04", None),  # not complete
    ],
)
def test_cost_to_service_points(metric: str, period: str, expected: float | None) -> None:
    """Each complete day exports its fill rate and average value, so a board can draw the curve."""
    assert value(run(curve_log()), metric, location="L1", period=period) == expected


@pytest.mark.parametrize("window", ["7d", "30d"])
def test_cost_to_service_slope(window: str) -> None:
    """Slope between the last two complete periods: (1.0 - 0.8) / ((4000 - 2000) / 1e6) = 100."""
    got = value(run(curve_log()), "inventory_cost_to_service_slope", location="L1", window=window)
    assert got == pytest.approx(100.0, rel=1e-9)


def test_cost_to_service_period_started_inside_is_averaged_from_the_first_event() -> None:
    """The day the location started averages over the hours since its first event."""
    engine = run(curve_log(first_day=0.5))
    got = value(
        engine,
        "inventory_cost_to_service_average_value_dollars",
        location="L1",
        period="2024-03-01",
    )
    assert got == 1000.0


def wcar_log(variant: str) -> list[m.Event]:
    """A: volatile demand ($100); B: volatile supplier ($50); C: disrupted ($20); D: calm ($7)."""
    events: list[m.Event] = [
        snapshot("A", 10, unit_cost=10.0, t=at(0)),
        snapshot("B", 5, unit_cost=10.0, t=at(0), supplier_id="S-VOL"),
        snapshot("C", 2, unit_cost=10.0, t=at(0), supplier_id="S-OK"),
        snapshot("D", 7, unit_cost=1.0, t=at(0), supplier_id="S-OK"),
        # A: 30 units on one of the 3 covered days: CV = sqrt(200) / 10 > 1.
        order("OA", [("l1", "A", 30, 1.0)], t=at(2.5), promised=at(9)),
        # D: one unit a day: CV 0.
        *[order(f"OD{i}", [("l1", "D", 1, 1.0)], t=at(i + 0.5), promised=at(9)) for i in range(3)],
        # S-VOL lead times 1 and 9 days (at another location): CV 0.8 > 0.5; S-OK: 2 and 2.
        received("S-VOL", "X", t=at(1), ordered=at(0), loc="L2"),
        received("S-VOL", "X", t=at(2), ordered=at(-7), loc="L2"),
        received("S-OK", "D", t=at(1), ordered=at(-1)),
        received("S-OK", "D", t=at(2), ordered=at(0)),
        tick(t=at(3)),
    ]
    if variant in ("sku disruption", "resolved"):
        events.append(disruption("D1", t=at(1), locations=["L1"], skus=["C"]))
    if variant == "resolved":
        events.append(resolved("D1", t=at(2)))
    if variant == "supplier disruption":
        events.append(disruption("D2", t=at(1), supplier_id="S-OK"))
    if variant == "supplier and sku":
        events.append(disruption("D2", t=at(1), locations=["L1"], skus=["C"], supplier_id="S-OK"))
    if variant == "supplier, other sku":
        events.append(disruption("D2", t=at(1), skus=["Z", "A"], supplier_id="S-OK"))
    if variant == "other location":
        events.append(disruption("D3", t=at(1), locations=["L2"]))
    return events


@pytest.mark.parametrize("window", ["7d", "30d"])
@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("sku disruption", 100.0 + 50.0 + 20.0),  # each of the three triggers once
        ("resolved", 100.0 + 50.0),  # a resolved disruption no longer counts
        ("supplier disruption", 100.0 + 50.0 + 20.0 + 7.0),  # covers S-OK's C and D everywhere
        ("supplier and sku", 100.0 + 50.0 + 20.0),  # both filters: S-OK's C only
        ("supplier, other sku", 100.0 + 50.0),  # A is not S-OK's, Z unknown: none covered
        ("other location", 100.0 + 50.0),  # its location list bounds a disruption
    ],
)
def test_working_capital_at_risk(variant: str, window: str, expected: float) -> None:
    """Demand CV, supplier lead-time CV or an active covering disruption put value at risk; a
    disruption covers only what every filter it carries matches (they narrow, never widen)."""
    engine = run(wcar_log(variant))
    got = value(engine, "inventory_working_capital_at_risk_dollars", location="L1", window=window)
    assert got == expected
