"""An evaluation pass over an engine runs on each location's own event time and sees dispatches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from alerts.links import Links
from alerts.pipeline import evaluate_engine
from alerts.rules import load_rules, parse_rules
from streams.events.models import ShipmentDispatched

LINKS = Links()


def test_each_location_is_evaluated_at_its_own_time(engine: Any, sku: Callable[..., Any]) -> None:
    """A stockout fires at its location's event time, not at another location's."""
    source = engine(
        skus=[
            sku(location="DC1", stocked_out=True, on_hand=0, stockout_started_at=90,
                last_event_at=100.0),
            sku(location="DC2", stocked_out=True, on_hand=0, stockout_started_at=4000,
                last_event_at=5000.0),
        ],
        watermarks={"DC1": 50.0, "DC2": 4900.0},
    )  # fmt: skip
    result = evaluate_engine(load_rules(None), source, {}, ["DC1", "DC2"], LINKS)
    fired = {t.labels["location"]: (t.at, t.starts_at) for t in result.transitions}
    assert fired == {"DC1": (100.0, 90.0), "DC2": (5000.0, 4000.0)}


def test_untouched_locations_keep_their_alerts(engine: Any, sku: Callable[..., Any]) -> None:
    """Evaluating DC2 alone leaves DC1's firing stockout alone."""
    rules = load_rules(None)
    dc1 = sku(location="DC1", stocked_out=True, on_hand=0, last_event_at=100.0)
    first = evaluate_engine(rules, engine(skus=[dc1]), {}, ["DC1"], LINKS)
    later = evaluate_engine(
        rules, engine(skus=[dc1], watermarks={"DC2": 900.0}), first.states, ["DC2"], LINKS
    )
    assert later.transitions == [] and later.states == first.states


def test_disruption_resolution_moves_the_location_clock(
    engine: Any, sku: Callable[..., Any], disruption: Callable[..., Any]
) -> None:
    """A disruption's resolution is dated at its own time, even if the location's feed lags."""
    rules = parse_rules("rules: [{alertname: InventoryDisruption, kind: disruption}]", "<t>")
    view = sku(location="DC1", last_event_at=50.0, projected_stockout_at=None)
    fired = evaluate_engine(
        rules, engine(skus=[view], disruption_list=[disruption()]), {}, ["DC1"], LINKS
    )
    assert [(t.status, t.at, t.starts_at) for t in fired.transitions] == [("firing", 100.0, 100.0)]
    resolved = evaluate_engine(
        rules,
        engine(skus=[view], disruption_list=[disruption(resolved_at=700.0)]),
        fired.states,
        ["DC1"],
        LINKS,
    )
    assert [(t.status, t.at, t.ends_at) for t in resolved.transitions] == [
        ("resolved", 700.0, 700.0)
    ]


def test_a_large_expedite_in_the_batch_pages(engine: Any) -> None:
    """A dispatch of the batch with an expedite above the amount fires a per-shipment alert."""
    dispatch = ShipmentDispatched(
        event_id="e1", event_type="shipment.dispatched",
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC), shipment_id="SH-9", order_id="O-1",
        location="DC3", lines=[{"line_id": "1", "sku": "S", "quantity": 1}],  # type: ignore[list-item]
        expedited=True, expedite_cost=9000,
    )  # fmt: skip
    result = evaluate_engine(load_rules(None), engine(), {}, ["DC3"], LINKS, [dispatch])
    [transition] = result.transitions
    assert transition.labels == {
        "alertname": "InventoryExpediteCost", "severity": "warning", "location": "DC3",
        "shipment_id": "SH-9",
    }  # fmt: skip
    assert transition.at == dispatch.occurred_at.timestamp()


def test_alerts_of_a_removed_rule_resolve_whatever_location_is_evaluated(
    engine: Any, sku: Callable[..., Any]
) -> None:
    """A firing alert whose rule left the configuration resolves on the next pass, even
    when its own location is not among those evaluated (states are kept per location)."""
    dc1 = sku(location="DC1", stocked_out=True, on_hand=0, last_event_at=100.0)
    first = evaluate_engine(load_rules(None), engine(skus=[dc1]), {}, ["DC1"], LINKS)
    assert [t.status for t in first.transitions] == ["firing"]
    otif_only = parse_rules(
        "rules: [{alertname: InventoryOtifLow, kind: otif, threshold: 0.9}]", "<test>"
    )
    later = evaluate_engine(
        otif_only, engine(skus=[dc1], watermarks={"DC2": 900.0}), first.states, ["DC2"], LINKS
    )
    assert [t.status for t in later.transitions] == ["resolved"]
    assert later.states == {}
