"""Each rule kind reads the engine's views into the right firing, band and cleared observations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from alerts.conditions import (
    disruption_observations,
    expedite_ratio_observations,
    expedite_single_observations,
    projected_stockout_observations,
    service_observations,
    severity_for,
    stockout_observations,
    working_capital_observations,
)
from alerts.links import Links
from alerts.rules import parse_rules
from streams.core.views import SkuLocationView
from streams.events.models import ShipmentDispatched

LINKS = Links("http://grafana.test", "https://runbooks.test/blob/main/alerts/runbooks")
DAY = 86400.0


def rule(text: str) -> Any:
    """The single rule of a one-rule YAML flow mapping."""
    return parse_rules(f"rules: [{text}]", "<test>").rules[0]


STOCKOUT = rule(
    "{alertname: InventoryStockout, kind: stockout, clear_threshold: 5, escalations: ["
    "{severity: critical, sku_classes: [A]}, {severity: critical, strategic_open_orders: true}]}"
)


def test_stockout_fires_with_annotations_and_links(sku: Callable[..., Any]) -> None:
    """A stocked-out SKU-location fires from its stockout start with summary and links."""
    [obs] = stockout_observations(
        STOCKOUT, [sku(stocked_out=True, on_hand=0, stockout_started_at=50.0)], LINKS
    )
    assert obs.firing and not obs.cleared
    assert obs.identity == {"location": "DC1", "sku": "SKU-1"}
    assert obs.severity == "warning" and obs.since == 50.0 and obs.partition == "DC1"
    assert obs.annotations is not None
    assert obs.annotations["summary"] == "SKU SKU-1 is out of stock at DC1"
    assert (
        obs.annotations["dashboard_url"] == "http://grafana.test/d/kpimon-oncall?var-location=DC1"
    )
    assert obs.annotations["runbook_url"] == (
        "https://runbooks.test/blob/main/alerts/runbooks/InventoryStockout.md"
    )


@pytest.mark.parametrize(
    ("changes", "severity"),
    [
        ({}, "warning"),
        ({"sku_class": "A"}, "critical"),
        ({"has_open_strategic_orders": True}, "critical"),
        ({"sku_class": "C", "has_open_strategic_orders": False}, "warning"),
    ],
)
def test_stockout_severity_escalates(
    sku: Callable[..., Any], changes: dict[str, Any], severity: str
) -> None:
    """A-class SKUs and SKU-locations with open strategic orders page as critical."""
    view = sku(stocked_out=True, on_hand=0, **changes)
    assert stockout_observations(STOCKOUT, [view], LINKS)[0].severity == severity


def test_stockout_hysteresis_band_and_clear(sku: Callable[..., Any]) -> None:
    """Restocked to at most clear_threshold units is the band; above it the condition is gone."""
    [band] = stockout_observations(STOCKOUT, [sku(stocked_out=False, on_hand=5)], LINKS)
    assert not band.firing and not band.cleared and band.annotations is None
    assert stockout_observations(STOCKOUT, [sku(stocked_out=False, on_hand=6)], LINKS) == []


def test_stockout_scope_filters(sku: Callable[..., Any]) -> None:
    """Scope by location, SKU class and strategic customers leaves others out."""
    scoped = rule(
        "{alertname: S, kind: stockout, scope: {locations: [DC2], sku_classes: [A],"
        " customer_tiers: [strategic]}}"
    )
    views = [
        sku(stocked_out=True, location="DC1", sku_class="A", has_open_strategic_orders=True),
        sku(stocked_out=True, location="DC2", sku_class="B", has_open_strategic_orders=True),
        sku(stocked_out=True, location="DC2", sku_class="A", has_open_strategic_orders=False),
        sku(stocked_out=True, location="DC2", sku_class="A", has_open_strategic_orders=True),
    ]
    assert [o.identity["location"] for o in stockout_observations(scoped, views, LINKS)] == ["DC2"]


PROJECTED = rule(
    "{alertname: InventoryProjectedStockout, kind: projected_stockout, threshold: 1.0,"
    " clear_threshold: 1.25}"
)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"days_of_cover": 5.0}, "firing"),
        ({"days_of_cover": 7.0}, "firing"),
        ({"days_of_cover": 8.0}, "band"),
        ({"days_of_cover": 9.0}, None),
        ({"projected_stockout_at": None, "days_of_cover": None}, None),
        ({"days_of_cover": 1.0, "on_hand": 0}, None),
        ({"days_of_cover": 1.0, "stocked_out": True}, None),
        # Counted from the location's watermark (the projection), not the SKU's last event:
        # a SKU quiet for 6 days with 5 days of cover is not 1 day from its stockout.
        ({"days_of_cover": 9.0, "last_event_at": 1000.0 - 6 * DAY}, None),
    ],
)
def test_projected_stockout_inside_lead_time(
    sku: Callable[..., Any], changes: dict[str, Any], expected: str | None
) -> None:
    """Fires while stock is on hand and runs out within the 7-day lead time; clears past 1.25x."""
    changes = {"last_event_at": 1000.0, **changes}
    view = sku(lead_time_days=7.0, **changes)
    found = projected_stockout_observations(PROJECTED, [view], LINKS)
    if expected is None:
        assert found == []
    else:
        assert [("firing" if o.firing else "band") for o in found] == [expected]


def test_projected_stockout_annotations_name_the_time(sku: Callable[..., Any]) -> None:
    """The projected stockout time is in the summary and its own annotation."""
    view = sku(last_event_at=0.0, projected_stockout_at=2 * DAY, days_of_cover=2.0)
    [obs] = projected_stockout_observations(PROJECTED, [view], LINKS)
    assert obs.annotations is not None
    assert obs.annotations["projected_stockout_at"] == "1970-01-03T00:00:00.000Z"
    assert "inside its 7-day lead time" in obs.annotations["summary"]


def test_engine_view_dataclass_is_accepted() -> None:
    """The engine's own SkuLocationView satisfies the protocol the conditions read."""
    view = SkuLocationView(
        location="DC9", sku="S", sku_class="A", supplier_id=None, on_hand=0, in_transit=0,
        unit_cost=1, value=0, stocked_out=True, stockout_started_at=5.0,
        expected_daily_demand=1, demand_std=0, lead_time_days=7, lead_time_std_days=0,
        days_of_cover=0, safety_stock=0, projected_stockout_at=5.0, at_risk=True,
        has_open_strategic_orders=False, last_event_at=5.0,
    )  # fmt: skip
    [obs] = stockout_observations(STOCKOUT, [view], LINKS)
    assert obs.severity == "critical"


EXPEDITE = rule(
    "{alertname: InventoryExpediteCost, kind: expedite_cost_ratio, window: 7d,"
    " threshold: 0.05, clear_threshold: 0.04}"
)


@pytest.mark.parametrize(
    ("kpis", "expected"),
    [
        ({"expedite_cost_sales": 0.06}, "firing"),
        ({"expedite_cost_sales": 0.05}, "band"),
        ({"expedite_cost_sales": 0.045}, "band"),
        ({"expedite_cost_sales": 0.04}, None),
        ({}, None),
    ],
)
def test_expedite_cost_share_of_sales(kpis: dict[str, float], expected: str | None) -> None:
    """Above 5 % fires, down to 4 % holds, at or below 4 % or without sales clears."""
    found = expedite_ratio_observations(EXPEDITE, "DC1", kpis, LINKS)
    assert [("firing" if o.firing else "band") for o in found] == ([expected] if expected else [])
    if found:
        assert found[0].identity == {"location": "DC1", "window": "7d"}


def _dispatch(cost: float, shipment: str = "SH-1") -> ShipmentDispatched:
    return ShipmentDispatched(
        event_id=f"e-{shipment}",
        event_type="shipment.dispatched",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        shipment_id=shipment,
        order_id="O-1",
        location="DC1",
        lines=[{"line_id": "1", "sku": "SKU-1", "quantity": 1}],  # type: ignore[list-item]
        expedited=True,
        expedite_cost=cost,
    )


def test_single_expedite_above_amount() -> None:
    """One dispatch with an expedite premium above the amount fires on its own."""
    single = rule("{alertname: InventoryExpediteCost, kind: expedite_single, threshold: 5000}")
    found = expedite_single_observations(
        single, [_dispatch(6000, "SH-1"), _dispatch(5000, "SH-2")], LINKS
    )
    assert [o.identity for o in found] == [{"location": "DC1", "shipment_id": "SH-1"}]
    assert found[0].since == datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert found[0].annotations is not None and "$6,000" in found[0].annotations["summary"]


WCAR = rule(
    "{alertname: InventoryWorkingCapitalAtRisk, kind: working_capital_at_risk, window: 30d,"
    " threshold: 0.3, clear_threshold: 0.25, amount_threshold: 1000000,"
    " amount_clear_threshold: 900000}"
)


@pytest.mark.parametrize(
    ("at_risk", "total", "expected"),
    [
        (31_000, 100_000, "firing"),  # share above 30 %
        (27_000, 100_000, "band"),  # share between 25 % and 30 %
        (20_000, 100_000, None),
        (1_100_000, 10_000_000, "firing"),  # amount above $1M, share 11 %
        (950_000, 10_000_000, "band"),
        (800_000, 10_000_000, None),
    ],
)
def test_working_capital_amount_or_share(
    at_risk: float, total: float, expected: str | None
) -> None:
    """Either the share of inventory value or the amount fires; both must clear."""
    kpis = {"working_capital_at_risk": at_risk, "inventory_value": total}
    found = working_capital_observations(WCAR, "DC1", kpis, LINKS)
    assert [("firing" if o.firing else "band") for o in found] == ([expected] if expected else [])


def test_disruption_names_value_and_sku_locations_at_risk(
    disruption: Callable[..., Any],
) -> None:
    """A high disruption fires with the value at risk, the SKU-locations and projected stockouts."""
    dis = rule(
        "{alertname: InventoryDisruption, kind: disruption, escalations:"
        " [{severity: critical, disruption_severities: [critical]}]}"
    )
    [obs] = disruption_observations(dis, [disruption()], LINKS)
    assert obs.firing and obs.severity == "warning" and obs.since == 100.0
    assert obs.identity == {"disruption_id": "D1"}
    assert obs.labels()["location"] == "DC1" and obs.labels()["supplier_id"] == "SUP-1"
    notes = obs.annotations
    assert notes is not None
    assert notes["value_at_risk"] == "12,500"
    assert notes["sku_locations_at_risk"] == "2" and notes["projected_stockouts"] == "1"
    assert "DC1/SKU-1, DC1/SKU-2" in notes["description"]
    assert "projected stockouts: 1 (DC1/SKU-2)" in notes["description"]
    assert notes["summary"].startswith("High supplier_delay disruption D1: $12,500")
    [crit] = disruption_observations(dis, [disruption(severity="critical")], LINKS)
    assert crit.severity == "critical"
    assert disruption_observations(dis, [disruption(severity="medium")], LINKS) == []


def test_disruption_resolution_clears_at_resolved_time(disruption: Callable[..., Any]) -> None:
    """A resolved disruption is a cleared observation ending at its resolution time."""
    dis = rule("{alertname: InventoryDisruption, kind: disruption}")
    [obs] = disruption_observations(dis, [disruption(resolved_at=900.0)], LINKS)
    assert obs.cleared and not obs.firing and obs.ended_at == 900.0


def test_disruption_of_many_locations_links_them_all(disruption: Callable[..., Any]) -> None:
    """A multi-location disruption has no location label and links every location it covers."""
    dis = rule("{alertname: InventoryDisruption, kind: disruption}")
    covered = (("DC1", "SKU-1"), ("DC2", "SKU-2"))
    item = disruption(locations=("DC2", "DC1", "DC3"), covered=covered)
    [obs] = disruption_observations(dis, [item], LINKS)
    assert "location" not in obs.labels()
    assert obs.annotations is not None
    assert obs.annotations["dashboard_url"].endswith("?var-location=DC1&var-location=DC2")


@pytest.mark.parametrize(
    ("covered", "scope", "observed"),
    [
        ((("DC1", "SKU-1"),), "[DC1]", True),  # a supplier-only disruption covering DC1
        ((("DC1", "SKU-1"),), "[DC2]", False),  # covers nothing at DC2: not DC2's page
        ((), "[DC2]", True),  # resolved (covers nothing any more): its clearing still goes out
    ],
)
def test_disruption_naming_no_location_is_scoped_by_what_it_covers(
    disruption: Callable[..., Any], covered: tuple[tuple[str, str], ...], scope: str, observed: bool
) -> None:
    """A disruption that names no location reaches a location-scoped rule through the
    SKU-locations it covers there (the engine's coverage: every filter must match)."""
    dis = rule(
        f"{{alertname: InventoryDisruption, kind: disruption, scope: {{locations: {scope}}}}}"
    )
    resolved_at = None if covered else 900.0
    item = disruption(locations=(), covered=covered, resolved_at=resolved_at)
    assert bool(disruption_observations(dis, [item], LINKS)) == observed


@pytest.mark.parametrize(
    ("kind", "key", "value", "expected"),
    [
        ("fill_rate", "fill_rate", 0.90, "firing"),
        ("fill_rate", "fill_rate", 0.96, "band"),
        ("fill_rate", "fill_rate", 0.97, None),
        ("otif", "otif", 0.5, "firing"),
        ("otif", "fill_rate", 0.5, None),
    ],
)
def test_service_kpis_below_target(kind: str, key: str, value: float, expected: str | None) -> None:
    """Fill rate and OTIF fire below target and clear at their clear threshold."""
    svc = rule(f"{{alertname: Low, kind: {kind}, threshold: 0.95, clear_threshold: 0.97}}")
    found = service_observations(svc, "DC1", {key: value}, LINKS)
    assert [("firing" if o.firing else "band") for o in found] == ([expected] if expected else [])


def test_severity_for_takes_the_highest_matching_escalation() -> None:
    """Escalations are OR-ed; the conditions inside one escalation are AND-ed."""
    r = rule(
        "{alertname: S, kind: stockout, severity: info, escalations: ["
        "{severity: warning, sku_classes: [B]},"
        " {severity: critical, sku_classes: [A], strategic_open_orders: true}]}"
    )
    assert severity_for(r, sku_class="A", strategic=False) == "info"
    assert severity_for(r, sku_class="A", strategic=True) == "critical"
    assert severity_for(r, sku_class="B", strategic=True) == "warning"
