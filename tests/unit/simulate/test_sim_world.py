"""The simulated world behaves like a stressed supply chain, consistently."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from typing import Any

from streams.simulate import SimulationConfig, build_world, disruptions
from streams.simulate.replenishment import actual_lead_days
from tests.unit.simulate.replay import START, of_type, replay_inventory, ts


def test_on_hand_never_negative_and_snapshots_agree(log: list[dict[str, Any]]) -> None:
    """Replaying snapshots + adjustments never goes below 0 and matches every later snapshot."""
    state = replay_inventory(log)
    assert state.negative == []
    assert state.snapshot_mismatches == []


def test_every_sku_location_starts_with_a_snapshot(log: list[dict[str, Any]]) -> None:
    """The first events are a snapshot of every SKU-location (4 locations x 25 SKUs)."""
    opening = log[:100]
    assert {e["event_type"] for e in opening} == {"inventory.snapshot"}
    assert len({(e["sku"], e["location"]) for e in opening}) == 100
    assert {e["sku_class"] for e in opening} == {"A", "B", "C"}


def test_stockouts_happen(log: list[dict[str, Any]]) -> None:
    """Some SKU-location reaches on_hand 0 and order lines arrive while it is at 0."""
    state = replay_inventory(log)
    assert state.hit_zero
    assert state.lines_ordered_at_zero > 0


def test_picks_and_receipts_move_stock_as_published(log: list[dict[str, Any]]) -> None:
    """Each dispatch is followed by one pick per line, each receipt by its positive adjustment."""
    checked = Counter[str]()
    for index, event in enumerate(log):
        kind = event["event_type"]
        if kind == "shipment.dispatched" and index + len(event["lines"]) < len(log):
            picks = log[index + 1 : index + 1 + len(event["lines"])]
            assert [(p["reason"], p["sku"], -p["delta"]) for p in picks] == [
                ("pick", line["sku"], line["quantity"]) for line in event["lines"]
            ]
            assert all(p["occurred_at"] == event["occurred_at"] for p in picks)
            checked[kind] += 1
        elif kind == "inbound.received" and index + 1 < len(log):
            receipt = log[index + 1]
            assert (receipt["reason"], receipt["sku"], receipt["location"], receipt["delta"]) == (
                "receipt",
                event["sku"],
                event["location"],
                event["quantity"],
            )
            checked[kind] += 1
    assert checked["shipment.dispatched"] > 100 and checked["inbound.received"] > 5


def test_adjustment_reasons_include_counts_and_damage(long_log: list[dict[str, Any]]) -> None:
    """Besides picks and receipts the WMS publishes cycle counts and damage write-offs."""
    reasons = {e["reason"] for e in of_type(long_log, "inventory.adjusted")}
    assert reasons == {"pick", "receipt", "cycle_count", "damage"}


def _shipped_per_line(log: list[dict[str, Any]]) -> dict[tuple[str, str], list[float]]:
    shipped: dict[tuple[str, str], list[float]] = defaultdict(list)
    for event in of_type(log, "shipment.dispatched"):
        for line in event["lines"]:
            shipped[(event["order_id"], line["line_id"])].append(line["quantity"])
    return shipped


def test_partial_shipments_happen(log: list[dict[str, Any]]) -> None:
    """Some order line is dispatched in more than one shipment or for less than ordered."""
    ordered = {
        (e["order_id"], line["line_id"]): line["quantity"]
        for e in of_type(log, "order.placed")
        for line in e["lines"]
    }
    shipped = _shipped_per_line(log)
    partial = [key for key, quantities in shipped.items() if quantities[0] < ordered[key]]
    assert partial
    assert all(sum(q) <= ordered[key] for key, q in shipped.items())


def test_shipments_only_for_known_orders_and_deliveries_only_for_dispatches(
    log: list[dict[str, Any]],
) -> None:
    """Every dispatch names a placed order; every delivery a dispatched shipment."""
    orders = {e["order_id"] for e in of_type(log, "order.placed")}
    dispatched = {e["shipment_id"]: e["order_id"] for e in of_type(log, "shipment.dispatched")}
    assert set(dispatched.values()) <= orders
    for delivery in of_type(log, "shipment.delivered"):
        assert dispatched[delivery["shipment_id"]] == delivery["order_id"]


def test_some_deliveries_are_late_and_most_on_time(log: list[dict[str, Any]]) -> None:
    """Deliveries after promised_at exist (OTIF < 1), but they are a minority."""
    promised = {e["order_id"]: ts(e["promised_at"]) for e in of_type(log, "order.placed")}
    late = [
        ts(e["occurred_at"]) > promised[e["order_id"]] for e in of_type(log, "shipment.delivered")
    ]
    assert 0 < sum(late) < 0.5 * len(late)


def test_expedites_cost_a_premium(log: list[dict[str, Any]]) -> None:
    """Some dispatches are expedited, each with a positive cost; standard ones cost 0."""
    dispatches = of_type(log, "shipment.dispatched")
    expedited = [e for e in dispatches if e["expedited"]]
    assert 0 < len(expedited) < 0.5 * len(dispatches)
    assert all(e["expedite_cost"] > 0 for e in expedited)
    assert all(e["expedite_cost"] == 0 for e in dispatches if not e["expedited"])


def test_cancelled_orders_never_ship(log: list[dict[str, Any]]) -> None:
    """Cancellations happen, only for placed orders, and nothing is dispatched for them."""
    cancelled = {e["order_id"] for e in of_type(log, "order.cancelled")}
    assert cancelled
    assert cancelled <= {e["order_id"] for e in of_type(log, "order.placed")}
    assert not cancelled & {e["order_id"] for e in of_type(log, "shipment.dispatched")}


def test_receipts_carry_their_purchase_order_times(log: list[dict[str, Any]]) -> None:
    """Receipts come after ordered_at, ordered_at < promised_at, and some arrive late."""
    receipts = of_type(log, "inbound.received")
    assert all(ts(e["ordered_at"]) < ts(e["promised_at"]) for e in receipts)
    assert all(ts(e["ordered_at"]) < ts(e["occurred_at"]) for e in receipts)
    assert any(ts(e["occurred_at"]) > ts(e["promised_at"]) for e in receipts)


def test_supplier_lead_time_variability_differs() -> None:
    """Sampled lead times of the most erratic supplier vary far more than the steadiest's."""
    world = build_world(SimulationConfig(seed=5, start=START))
    cvs: dict[str, float] = {}
    for stock in world.stock[0]:
        supplier = world.catalog.skus[stock.sku].supplier_id
        if supplier not in cvs:
            days = [actual_lead_days(world, stock) for _ in range(400)]
            cvs[supplier] = statistics.pstdev(days) / statistics.mean(days)
    assert len(cvs) >= 3
    assert max(cvs.values()) > 0.5 > 0.15 > min(cvs.values())


def test_some_daily_demand_is_lumpy(long_log: list[dict[str, Any]]) -> None:
    """At least one SKU-location has a daily-demand coefficient of variation above 1."""
    daily: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for order in of_type(long_log, "order.placed"):
        for line in order["lines"]:
            daily[(line["sku"], order["location"])][order["occurred_at"][:10]] += line["quantity"]
    days = sorted({e["occurred_at"][:10] for e in long_log})[1:-1]  # whole days only
    cvs = []
    for counts in daily.values():
        values = [counts[day] for day in days]
        if statistics.mean(values) > 0:
            cvs.append(statistics.pstdev(values) / statistics.mean(values))
    assert max(cvs) > 1.0


def test_forecasts_cover_every_sku_location_daily_and_some_are_revised(
    log: list[dict[str, Any]],
) -> None:
    """Each SKU-location gets a forecast per UTC day; some periods are published twice."""
    forecasts = of_type(log, "forecast.published")
    periods = Counter((e["sku"], e["location"], e["period_start"]) for e in forecasts)
    days = {e["period_start"] for e in forecasts}
    assert len(periods) == 100 * len(days) and len(days) >= 2
    assert max(periods.values()) >= 2
    for event in forecasts:  # UTC days; the first one from the start instant
        assert 0 < ts(event["period_end"]) - ts(event["period_start"]) <= 86400
        assert event["period_end"].endswith("T00:00:00.000000+00:00")
    assert min(e["period_start"] for e in forecasts) == START.isoformat(timespec="microseconds")


def test_disruptions_are_resolved_after_their_reports(long_log: list[dict[str, Any]]) -> None:
    """Resolutions follow their reports; serious (high/critical) ones get resolved too."""
    reported = {e["disruption_id"]: e for e in of_type(long_log, "disruption.reported")}
    resolved = of_type(long_log, "disruption.resolved")
    for event in resolved:
        assert ts(event["occurred_at"]) > ts(reported[event["disruption_id"]]["occurred_at"])
    severities = {reported[e["disruption_id"]]["severity"] for e in resolved}
    assert severities >= {"low", "medium"} and severities & {"high", "critical"}


def test_every_severity_and_kind_is_reported() -> None:
    """Random reports cover all severities (critical the rarest) and all kinds of the contract."""
    world = build_world(SimulationConfig(seed=2, locations=3, skus=10, start=START))
    world.out.clear()
    for _ in range(300):
        disruptions.report(world, "random")
    reports = of_type(world.out, "disruption.reported")
    severities = Counter(e["severity"] for e in reports)
    assert set(severities) == {"low", "medium", "high", "critical"}
    assert severities["critical"] == min(severities.values())
    assert {e["kind"] for e in reports} == set(disruptions.KINDS)


def test_disruptions_name_suppliers_locations_and_skus(long_log: list[dict[str, Any]]) -> None:
    """Some reports carry a supplier, some a location list, some a SKU list."""
    reports = of_type(long_log, "disruption.reported")
    assert any(e.get("supplier_id") for e in reports)
    assert any(e["locations"] for e in reports)
    assert any(e["skus"] for e in reports)
    assert len({e["kind"] for e in reports}) >= 5


def test_planners_override_some_recommendations_and_apply_most(log: list[dict[str, Any]]) -> None:
    """Overrides name a recommendation; applied policies mostly cite one; override rate < 1."""
    recommended = {e["recommendation_id"] for e in of_type(log, "policy.recommended")}
    overridden = of_type(log, "policy.overridden")
    applied = of_type(log, "policy.applied")
    assert overridden and {e["recommendation_id"] for e in overridden} <= recommended
    assert len(overridden) < len(recommended)
    cited = [e for e in applied if e.get("recommendation_id")]
    assert len(cited) > 0.5 * len(applied)
    assert {e["recommendation_id"] for e in cited} <= recommended


def test_disruptions_trigger_replans(long_log: list[dict[str, Any]]) -> None:
    """After most disruptions a policy is applied at a location they cover within a day."""
    applied = [(ts(e["occurred_at"]), e["location"]) for e in of_type(long_log, "policy.applied")]
    locations = sorted({e["location"] for e in of_type(long_log, "inventory.snapshot")})
    replanned = 0
    reports = of_type(long_log, "disruption.reported")
    for report in reports:
        at, covered = ts(report["occurred_at"]), set(report["locations"] or locations)
        replanned += any(at <= t <= at + 86400 and loc in covered for t, loc in applied)
    assert replanned > 0.5 * len(reports)
