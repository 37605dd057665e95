"""The disruption alert is enriched with the engine's coverage (SPEC §4: every filter matches)."""

from __future__ import annotations

from alerts.conditions import disruption_observations
from alerts.links import Links
from alerts.rules import DisruptionRule, parse_rules
from streams.core.engine import KpiEngine
from tests.unit.core.factories import at, disruption, settings, snapshot, tick

LINKS = Links("http://grafana.test", "https://runbooks.test/blob/main/alerts/runbooks")


def _rule() -> DisruptionRule:
    text = "version: 1\nrules:\n  - {alertname: InventoryDisruption, kind: disruption}\n"
    [rule] = parse_rules(text, "test").rules
    assert isinstance(rule, DisruptionRule)
    return rule


def test_supplier_delay_pages_with_only_that_suppliers_sku_locations() -> None:
    """A supplier delay naming SUP-0 at DC-EAST for S1 and S3 puts S1 ($100) at risk: S2 is
    SUP-0's but not listed, S3 is listed but SUP-1's, DC-WEST is not named."""
    engine = KpiEngine(settings())
    for event in [
        snapshot("S1", 10, unit_cost=10.0, t=at(0), loc="DC-EAST", supplier_id="SUP-0"),
        snapshot("S2", 5, unit_cost=10.0, t=at(0), loc="DC-EAST", supplier_id="SUP-0"),
        snapshot("S3", 2, unit_cost=10.0, t=at(0), loc="DC-EAST", supplier_id="SUP-1"),
        snapshot("S1", 4, unit_cost=10.0, t=at(0), loc="DC-WEST", supplier_id="SUP-0"),
        disruption("D1", t=at(1), locations=["DC-EAST"], skus=["S1", "S3"], supplier_id="SUP-0"),
        tick(t=at(2), loc="DC-EAST"),
    ]:
        engine.add(event)
    [obs] = disruption_observations(_rule(), engine.disruptions(), LINKS)
    assert obs.firing and obs.value == 100.0
    assert obs.annotations is not None
    assert obs.annotations["sku_locations_at_risk"] == "1"
    assert "SKU-locations at risk: 1 (DC-EAST/S1)" in obs.annotations["description"]
