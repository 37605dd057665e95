"""SPEC §4 and §4.1 by hand: small scenarios whose expected readings were worked out on paper.

This table is the arbiter of the KPI readings (issues 13 and 14). Every expected
value is a literal written from the amended SPEC §4 and §4.1, not computed by any
code of ours, with its derivation in a one-line comment. Where the engine and the
batch reference (`tests/reference/batch_kpis.py`) disagree with this table, the
table wins.

Conventions: times are days after T0 = 2024-03-01T00:00:00Z (epoch 1709251200);
allowed lateness is 0, so a location's watermark is its latest event time (a
`tick` moves it without touching any KPI); buckets are UTC days, so a window
"7d" at watermark day w is [floor(w) - 6, w] and a bucket closes when the
watermark reaches its end; windows are 7d and 30d; the other settings are the
defaults (excess cover 90 days, obsolete after 90 days) unless a scenario names
them. Events are fed to `KpiEngine` in the order listed, which is their
processing order: an event listed after one of a later day finds its day closed
and is *late*.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from streams.core.engine import KpiEngine
from streams.events import models as m
from tests.reference import batch_kpis
from tests.unit.core.factories import (
    adjusted,
    applied,
    at,
    cancel,
    dispatch,
    disruption,
    forecast,
    order,
    overridden,
    received,
    recommended,
    resolved,
    settings,
    snapshot,
    tick,
)

EAST, WEST = "DC-EAST", "DC-WEST"


# --- the logs ---------------------------------------------------------------------------


def network(*extra: m.Event) -> list[m.Event]:
    """DC-EAST: S1 (SUP-0) $100, S2 (SUP-0) $50, S3 (SUP-1) $20, S4 (no supplier) $3.

    DC-WEST: S1 (SUP-0) $40. No orders and no receipts, so no demand or lead-time
    volatility: only disruptions can put value at risk. Both watermarks: day 3.
    """
    return [
        snapshot("S1", 10, unit_cost=10.0, t=at(0), loc=EAST, supplier_id="SUP-0"),
        snapshot("S2", 5, unit_cost=10.0, t=at(0), loc=EAST, supplier_id="SUP-0"),
        snapshot("S3", 2, unit_cost=10.0, t=at(0), loc=EAST, supplier_id="SUP-1"),
        snapshot("S4", 3, unit_cost=1.0, t=at(0), loc=EAST),
        snapshot("S1", 4, unit_cost=10.0, t=at(0), loc=WEST, supplier_id="SUP-0"),
        *extra,
        tick(t=at(3), loc=EAST),
        tick(t=at(3), loc=WEST),
    ]


def supplier_delay_for_two_skus() -> list[m.Event]:
    return network(
        disruption("D1", t=at(1), locations=[EAST], skus=["S1", "S3"], supplier_id="SUP-0")
    )


def supplier_only() -> list[m.Event]:
    return network(disruption("D1", t=at(1), supplier_id="SUP-0"))


def locations_only() -> list[m.Event]:
    return network(disruption("D1", t=at(1), locations=[EAST]))


def skus_only() -> list[m.Event]:
    return network(disruption("D1", t=at(1), skus=["S2"]))


def unknown_supplier() -> list[m.Event]:
    return network(disruption("D1", t=at(1), skus=["S4"], supplier_id="SUP-0"))


def receipt_changes_supplier() -> list[m.Event]:
    # S2's latest supplier_id is SUP-1: a receipt on day 1 is later than its day-0 snapshot.
    return network(
        received("SUP-1", "S2", t=at(1), ordered=at(-1), loc=EAST),
        disruption("D1", t=at(2), supplier_id="SUP-1"),
    )


def resolved_disruption() -> list[m.Event]:
    return network(disruption("D1", t=at(1), locations=[EAST]), resolved("D1", t=at(2)))


def steady_monthly_demand() -> list[m.Event]:
    """A: 80 units at $1, 5 units every 3 days on days 1..22; B: 60 units at $2, 6 units on day 5.

    Nothing is ordered in the last 7 days (days 23-30). Watermark day 30, data since day 0.
    """
    return [
        snapshot("A", 80, unit_cost=1.0, t=at(0)),
        snapshot("B", 60, unit_cost=2.0, t=at(0)),
        *[
            order(f"OA{day}", [("l1", "A", 5, 1.0)], t=at(day), promised=at(day + 1))
            for day in (1, 4, 7, 10, 13, 16, 19, 22)
        ],
        order("OB", [("l1", "B", 6, 1.0)], t=at(5), promised=at(6)),
        tick(t=at(30)),
    ]


def young_monitor() -> list[m.Event]:
    """40 units of A on hand; 10 units ordered; the location's data covers 1.25 days."""
    return [
        snapshot("A", 40, t=at(0)),
        order("O1", [("l1", "A", 10, 1.0)], t=at(1), promised=at(2)),
        tick(t=at(1.25)),
    ]


def quiet_sku() -> list[m.Event]:
    """A's last event is on day 1; another SKU's snapshot moves the watermark to day 4."""
    return [
        snapshot("A", 40, t=at(0)),
        order("O1", [("l1", "A", 10, 1.0)], t=at(1), promised=at(2)),
        snapshot("B", 1, t=at(4)),
    ]


def replanned_while_active() -> list[m.Event]:
    return network(
        disruption("D1", t=at(1), locations=[EAST]),
        applied("S1", t=at(1, hours=2), loc=EAST),
    )


def applied_after_resolution() -> list[m.Event]:
    return network(
        disruption("D1", t=at(1), locations=[EAST]),
        resolved("D1", t=at(2)),
        applied("S1", t=at(2.5), loc=EAST),
    )


def never_replanned() -> list[m.Event]:
    return network(disruption("D1", t=at(1), locations=[EAST]))


def replan_of_a_covered_sku_only() -> list[m.Event]:
    return network(
        disruption("D1", t=at(1), supplier_id="SUP-1"),
        applied("S1", t=at(2), loc=EAST),  # S1 is SUP-0's: not covered by D1
        applied("S3", t=at(2.5), loc=EAST),  # S3 is SUP-1's: the replan
        applied("S1", t=at(2), loc=WEST),  # DC-WEST holds no SUP-1 SKU: D1 does not cover it
    )


def late_older_snapshot() -> list[m.Event]:
    """The issue's case: a snapshot older than the dispatch arrives after it, with another cost."""
    return [
        snapshot("A", 100, unit_cost=10.0, t=at(5)),
        dispatch("S1", "O1", [("l1", "A", 10)], t=at(3)),  # processed: known cost $10
        snapshot("A", 100, unit_cost=5.0, t=at(1)),  # late: unit_cost(day 3) is now $5
        tick(t=at(6)),
    ]


def dispatch_before_any_snapshot() -> list[m.Event]:
    return [
        dispatch("S1", "O1", [("l1", "A", 4)], t=at(1)),
        snapshot("A", 10, unit_cost=3.0, t=at(2)),
        tick(t=at(3)),
    ]


def dispatch_before_its_order() -> list[m.Event]:
    return [
        dispatch("S1", "O1", [("l1", "A", 2)], t=at(1)),
        order("O1", [("l1", "A", 2, 7.0)], t=at(0.5), promised=at(2)),
        tick(t=at(3)),
    ]


def republished_order() -> list[m.Event]:
    return [
        order("O1", [("l1", "A", 10, 1.0)], t=at(1), promised=at(2)),
        order("O1", [("l1", "A", 99, 1.0)], t=at(0.5), promised=at(2)),  # earlier, processed later
        tick(t=at(3)),
    ]


def late_adjustment_erases_episodes() -> list[m.Event]:
    return [
        snapshot("A", 5, t=at(0)),
        adjusted("A", -5, t=at(1)),  # 5 -> 0: episode 1 starts
        adjusted("A", 5, t=at(2)),  # ends
        adjusted("A", -5, t=at(3)),  # 5 -> 0: episode 2 starts
        adjusted("A", 10, t=at(0.5)),  # late: in event time the shelf never empties
        tick(t=at(4)),
    ]


def orders_before_any_inventory() -> list[m.Event]:
    return [
        order("O1", [("l1", "A", 1, 1.0)], t=at(0.1), promised=at(2)),
        order("O2", [("l1", "A", 1, 1.0)], t=at(0.2), promised=at(2)),
        tick(t=at(1)),
    ]


def order_meets_a_known_empty_shelf(*settling: m.Event, end: float = 2.9) -> list[m.Event]:
    """Day 2 is still open at the end (watermark day 2.9) unless `end` closes it."""
    return [
        order("O1", [("l1", "A", 1, 1.0)], t=at(0.1), promised=at(2)),  # unknown: no episode
        snapshot("A", 0, t=at(1)),  # known now, 0 -> 0 is no start
        order("O2", [("l1", "A", 1, 1.0)], t=at(2), promised=at(3)),  # empty shelf: episode
        order("O3", [("l1", "A", 1, 1.0)], t=at(2.5), promised=at(3)),  # already out
        *settling,
        tick(t=at(end)),
    ]


def empty_shelf_day_closes() -> list[m.Event]:
    return order_meets_a_known_empty_shelf(end=3)


def empty_shelf_then_inventory() -> list[m.Event]:
    # Another SKU's snapshot on day 2.6: the location's inventory is known past O2 now.
    return order_meets_a_known_empty_shelf(snapshot("B", 5, t=at(2.6)))


def orders_after_inventory_then_restock_arrives() -> list[m.Event]:
    """The orders topic ran ahead: O1 (day 3) is processed before the day-2 restock."""
    return [
        snapshot("A", 0, t=at(0)),
        order("O1", [("l1", "A", 1, 1.0)], t=at(3), promised=at(4)),
        adjusted("A", 50, t=at(2)),  # restocked before O1 in event time
        snapshot("B", 1, t=at(3.5)),
        tick(t=at(4)),
    ]


def restock_then_orders_behind() -> list[m.Event]:
    """The inventory topic ran ahead within a day: the restock (day 0.6) before O1 (day 0.3)."""
    return [
        snapshot("A", 0, t=at(0)),
        adjusted("A", 50, t=at(0.6)),
        order("O1", [("l1", "A", 1, 1.0)], t=at(0.3), promised=at(4)),  # met the empty shelf
        tick(t=at(0.9)),
    ]


def order_behind_a_closed_day() -> list[m.Event]:
    """The restock (day 2) closes day 1 before O1 (day 1) arrives: O1 is late."""
    return [
        snapshot("A", 0, t=at(0)),
        adjusted("A", 50, t=at(2)),
        order("O1", [("l1", "A", 1, 1.0)], t=at(1), promised=at(4)),  # late: starts nothing
        tick(t=at(4)),
    ]


def expedites() -> list[m.Event]:
    return [
        dispatch("S1", "O1", [("l1", "A", 1)], t=at(1), expedite_cost=10.0),
        dispatch("S2", "O2", [("l1", "A", 1)], t=at(2), expedite_cost=20.0),
        tick(t=at(3)),
    ]


def forecast_republished() -> list[m.Event]:
    """Period [1, 2) of A: 16 units ordered; period [2, 3): 4 units, its only forecast is late."""
    return [
        forecast("A", 12, t=at(0), start=at(1), end=at(2)),
        forecast("A", 20, t=at(0.5), start=at(1), end=at(2)),  # latest before period_start
        forecast("A", 16, t=at(1.5), start=at(1), end=at(2)),  # after period_start: ignored
        forecast("A", 4, t=at(2.5), start=at(2), end=at(3)),  # after period_start: ignored
        order("O1", [("l1", "A", 16, 1.0)], t=at(1.2), promised=at(4)),
        order("O2", [("l1", "A", 4, 1.0)], t=at(2.2), promised=at(4)),
        tick(t=at(5)),
    ]


def override_of_unknown_recommendation() -> list[m.Event]:
    return [
        snapshot("A", 1, t=at(0)),
        recommended("A", t=at(1), recommendation_id="R1"),
        overridden("A", t=at(1.5), recommendation_id="R1"),
        overridden("A", t=at(1.6), recommendation_id="R-unknown"),
        tick(t=at(2)),
    ]


def one_override_in_four() -> list[m.Event]:
    return [
        snapshot("A", 1, t=at(0)),
        *[recommended("A", t=at(1 + i / 10), recommendation_id=f"R{i}") for i in range(4)],
        overridden("A", t=at(2), recommendation_id="R2"),
        tick(t=at(3)),
    ]


def today_and_six_days() -> list[m.Event]:
    """A: 10 units at $1 since day 0; watermark day 9.5."""
    return [snapshot("A", 10, t=at(0)), tick(t=at(9.5))]


def dispatches_at_the_window_start() -> list[m.Event]:
    return [
        dispatch("S1", "O1", [("l1", "A", 1)], t=at(2.99), expedite_cost=10.0),
        dispatch("S2", "O2", [("l1", "A", 1)], t=at(3), expedite_cost=20.0),
        tick(t=at(9.5)),
    ]


def hourly_twelve_hours() -> list[m.Event]:
    return [snapshot("A", 10, t=at(0)), tick(t=at(1, hours=12.5))]


def late_order_and_dispatch() -> list[m.Event]:
    """Day 2's order and dispatch arrive after the day-5 tick closed day 2."""
    return [
        snapshot("A", 100, t=at(0)),
        forecast("A", 12, t=at(0.5), start=at(2), end=at(3)),
        tick(t=at(5)),
        order("O1", [("l1", "A", 10, 1.0)], t=at(2), promised=at(3)),  # late
        dispatch("S1", "O1", [("l1", "A", 8)], t=at(2.5)),  # late
    ]


def late_cancellation_of_a_closed_order() -> list[m.Event]:
    return [
        snapshot("A", 100, t=at(0)),
        forecast("A", 12, t=at(0.5), start=at(2), end=at(3)),
        order("O1", [("l1", "A", 10, 1.0)], t=at(2), promised=at(3)),
        order("O2", [("l1", "A", 4, 1.0)], t=at(2.5), promised=at(3)),
        tick(t=at(5)),
        cancel("O2", t=at(2.6)),  # late: O2 leaves day 2's demand and the fill rate
    ]


def late_newest_snapshot() -> list[m.Event]:
    """A's day-3 recount (50 at $2) arrives after day 5; nothing of A followed it."""
    return [
        snapshot("A", 100, unit_cost=1.0, t=at(0)),
        dispatch("S1", "O1", [("l1", "A", 1)], t=at(3.5)),
        dispatch("S2", "O2", [("l1", "A", 1)], t=at(4.5)),
        tick(t=at(5)),
        snapshot("A", 50, unit_cost=2.0, t=at(3)),  # late, the newest of A
    ]


def late_adjustment_until_the_next_snapshot() -> list[m.Event]:
    return [
        snapshot("A", 10, t=at(0)),
        snapshot("A", 20, t=at(2.5)),
        tick(t=at(4)),
        adjusted("A", 5, t=at(1)),  # late: +5 on [day 1, day 2.5)
    ]


def late_adjustment_moves_the_position() -> list[m.Event]:
    return [snapshot("A", 10, t=at(0)), tick(t=at(3)), adjusted("A", -4, t=at(1))]


def late_adjustment_between_two_snapshots_of_a_day() -> list[m.Event]:
    return [
        snapshot("A", 10, t=at(0.1)),
        snapshot("A", 10, t=at(0.9)),
        tick(t=at(2)),
        adjusted("A", 5, t=at(0.5)),  # late, between two snapshots of closed day 0
    ]


def older_than_every_window() -> list[m.Event]:
    return [
        snapshot("A", 10, t=at(0)),
        tick(t=at(40)),
        snapshot("A", 99, t=at(5)),  # before day 40 - 29 = day 11: dropped
        order("O1", [("l1", "A", 1, 1.0)], t=at(9), promised=at(10)),  # dropped
    ]


def late_plans() -> list[m.Event]:
    return [
        snapshot("A", 1, t=at(0)),
        tick(t=at(4)),
        recommended("A", t=at(1), recommendation_id="R1"),  # late
        recommended("A", t=at(2), recommendation_id="R2"),  # late
        overridden("A", t=at(3.5), recommendation_id="R1"),  # late
        applied("A", t=at(3)),  # late
    ]


# --- reading ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """What to read: a sample (`name`, `labels`), a field of a SKU-location or disruption view,
    or a late count (`late:<topic>`)."""

    name: str
    labels: dict[str, str] = field(default_factory=dict)

    def __call__(self, engine: KpiEngine) -> Any:
        kind, _, rest = self.name.partition(":")
        if kind == "view":
            location, sku, attribute = rest.split("/")
            found = [v for v in engine.sku_locations() if (v.location, v.sku) == (location, sku)]
            return getattr(found[0], attribute)
        if kind == "late":
            return engine.late_totals().get(rest, 0)
        if kind == "disruption":
            disruption_id, attribute = rest.split("/")
            found = [d for d in engine.disruptions() if d.disruption_id == disruption_id]
            return getattr(found[0], attribute)
        wanted = (self.name, tuple(sorted(self.labels.items())))
        return next((s.value for s in engine.samples() if (s.name, s.labels) == wanted), None)


def at_loc(name: str, location: str = "L1", window: str | None = None) -> Read:
    labels = {"location": location, **({"window": window} if window else {})}
    return Read(name, labels)


WCAR = "inventory_working_capital_at_risk_dollars"
NORTH_WEB = {"region": "north", "channel": "web", "customer_tier": "standard"}
ABSENT = None

Log = Callable[[], list[m.Event]]

# (id, log, read, expected, settings overrides) — each with its derivation.
SCENARIOS: list[tuple[str, Log, Read, Any, dict[str, Any]]] = [
    # -- working capital at risk: a disruption covers what EVERY filter it carries matches --
    # SUP-0 at DC-EAST for S1, S3: S1 is SUP-0's ($100); S3 is SUP-1's; S2 is not listed.
    ("wcar/filters-narrow", supplier_delay_for_two_skus, at_loc(WCAR, EAST, "7d"), 100.0, {}),
    # The alert enrichment uses the same coverage: value at risk $100 (S1 only).
    ("wcar/alert-value", supplier_delay_for_two_skus, Read("disruption:D1/value_at_risk"), 100.0, {}),  # noqa: E501
    # ... and lists exactly that SKU-location.
    ("wcar/alert-covered", supplier_delay_for_two_skus, Read("disruption:D1/covered"), ((EAST, "S1"),), {}),  # noqa: E501
    # Supplier only (no locations, no SKUs): SUP-0's SKUs everywhere, S1 $100 + S2 $50 at DC-EAST.
    ("wcar/supplier-only-east", supplier_only, at_loc(WCAR, EAST, "30d"), 150.0, {}),
    # ... and S1 at DC-WEST, $40; never "all inventory everywhere" ($213).
    ("wcar/supplier-only-west", supplier_only, at_loc(WCAR, WEST, "30d"), 40.0, {}),
    # Locations only: every SKU-location of DC-EAST, $100 + $50 + $20 + $3.
    ("wcar/location-only-east", locations_only, at_loc(WCAR, EAST, "7d"), 173.0, {}),
    # ... and nothing at DC-WEST.
    ("wcar/location-only-west", locations_only, at_loc(WCAR, WEST, "7d"), 0.0, {}),
    # SKUs only: S2 at any location; only DC-EAST holds it, $50.
    ("wcar/sku-only", skus_only, at_loc(WCAR, EAST, "7d"), 50.0, {}),
    # S4's supplier is unknown, so a disruption naming a supplier does not cover it: $0.
    ("wcar/unknown-supplier", unknown_supplier, at_loc(WCAR, EAST, "7d"), 0.0, {}),
    # S2's latest supplier_id (a day-1 receipt) is SUP-1: SUP-1 covers S2 $50 + S3 $20.
    ("wcar/latest-supplier", receipt_changes_supplier, at_loc(WCAR, EAST, "7d"), 70.0, {}),
    # A resolved disruption covers nothing: $0.
    ("wcar/resolved", resolved_disruption, at_loc(WCAR, EAST, "7d"), 0.0, {}),
    # -- excess & obsolete: one point-in-time figure from the model's d --
    # 30d at wm day 30 (midnight) is [day 1, day 30]: 29 days. A: d = 40 / 29; 90 d = 124 >= 80
    # on hand: no excess, although nothing was ordered in the last 7 days. B: d = 6 / 29;
    # 60 - 90 x 6 / 29 = 1200 / 29 units x $2 = $2400 / 29.
    ("eo/value", steady_monthly_demand, at_loc("inventory_excess_obsolete_value_dollars"), 2400 / 29, {}),  # noqa: E501
    # $2400 / 29 of $80 + $120 = $200.
    ("eo/ratio", steady_monthly_demand, at_loc("inventory_excess_obsolete_ratio"), 12 / 29, {}),
    # There is no per-window E&O any more.
    ("eo/no-window", steady_monthly_demand, at_loc("inventory_excess_obsolete_ratio", window="7d"), ABSENT, {}),  # noqa: E501
    # Obsolete after 20 days (data spans 30): B's last order is on day 5, so all $120 of it.
    ("eo/obsolete", steady_monthly_demand, at_loc("inventory_excess_obsolete_value_dollars"), 120.0, {"obsolete_after_days": 20.0}),  # noqa: E501
    # -- uncertainty model: d over the covered span in fractional days, projection from wm --
    # 10 units over 1.25 covered days = 8 per day (whole-day buckets would say 10 / 2 = 5).
    ("model/fractional-days", young_monitor, Read("view:L1/A/expected_daily_demand"), 8.0, {}),
    # 40 on hand / 8 per day = 5 days of cover.
    ("model/cover", young_monitor, Read("view:L1/A/days_of_cover"), 5.0, {}),
    # Watermark day 1.25 + 5 days = day 6.25 = 1709251200 + 540000.
    ("model/projected", young_monitor, Read("view:L1/A/projected_stockout_at"), 1709791200.0, {}),
    # d = 10 / 4 days = 2.5; cover 40 / 2.5 = 16 days from wm day 4 (not from A's day 1): day 20.
    ("model/projected-from-wm", quiet_sku, Read("view:L1/A/projected_stockout_at"), 1710979200.0, {}),  # noqa: E501
    # -- time-to-replan per (disruption, location), while the disruption is active --
    # D1 on day 1, S1's policy applied 2 hours later: one observation of 7200 s.
    ("replan/observed", replanned_while_active, at_loc("inventory_time_to_replan_seconds_sum", EAST), 7200.0, {}),  # noqa: E501
    # Replanned: nothing awaits.
    ("replan/observed-not-awaiting", replanned_while_active, at_loc("inventory_disruptions_awaiting_replan", EAST), 0.0, {}),  # noqa: E501
    # The only policy change came after the resolution (day 2.5 > day 2): no observation at all.
    ("replan/after-resolution", applied_after_resolution, at_loc("inventory_time_to_replan_seconds_count", EAST), ABSENT, {}),  # noqa: E501
    # ... and a resolved disruption does not wait either.
    ("replan/after-resolution-not-awaiting", applied_after_resolution, at_loc("inventory_disruptions_awaiting_replan", EAST), 0.0, {}),  # noqa: E501
    # A silent planning system shows: D1 active since day 1, nothing applied.
    ("replan/awaiting", never_replanned, at_loc("inventory_disruptions_awaiting_replan", EAST), 1.0, {}),  # noqa: E501
    # Its age against DC-EAST's watermark: day 3 - day 1 = 172800 s.
    ("replan/oldest-age", never_replanned, at_loc("inventory_disruption_oldest_unreplanned_age_seconds", EAST), 172800.0, {}),  # noqa: E501
    # D1 names DC-EAST only: nothing waits at DC-WEST.
    ("replan/other-location", never_replanned, at_loc("inventory_disruptions_awaiting_replan", WEST), 0.0, {}),  # noqa: E501
    # SUP-1's D1: S1's change (SUP-0) is not a replan, S3's at day 2.5 is: 1.5 days = 129600 s.
    ("replan/covered-sku", replan_of_a_covered_sku_only, at_loc("inventory_time_to_replan_seconds_sum", EAST), 129600.0, {}),  # noqa: E501
    # DC-WEST holds no SUP-1 SKU: D1 does not cover it, nothing waits there, nothing observed.
    ("replan/uncovered-location", replan_of_a_covered_sku_only, at_loc("inventory_time_to_replan_seconds_count", WEST), ABSENT, {}),  # noqa: E501
    # -- counters count facts as processed; a late event may add, never lower --
    # The dispatch was processed when A's known cost was $10: 10 x $10 = $100, kept.
    ("counter/cogs-late-snapshot", late_older_snapshot, at_loc("inventory_cogs_dollars_total"), 100.0, {}),  # noqa: E501
    # The day-1 snapshot is late (day 5 is open) and older than A's day-5 one: it changes
    # nothing (SPEC §4.1), so the day-3 line keeps the first snapshot's $10: 10 x $10.
    ("counter/cogs-window-not-revised", late_older_snapshot, at_loc("inventory_window_cogs_dollars", window="7d"), 100.0, {}),  # noqa: E501
    # No cost known when dispatched: priced when the first snapshot is processed, 4 x $3.
    ("counter/cogs-waits-for-a-cost", dispatch_before_any_snapshot, at_loc("inventory_cogs_dollars_total"), 12.0, {}),  # noqa: E501
    # Sales of a dispatch processed before its order are added when the order arrives: 2 x $7.
    ("counter/sales-order-late", dispatch_before_its_order, at_loc("inventory_sales_dollars_total"), 14.0, {}),  # noqa: E501
    # The first placement processed counts (10 units); a re-publication never moves the counter.
    ("counter/units-ordered-first", republished_order, at_loc("inventory_units_ordered_total"), 10.0, {}),  # noqa: E501
    # Two episodes started as processed (days 1 and 3); the late +10 takes neither back.
    ("counter/stockouts-kept", late_adjustment_erases_episodes, at_loc("inventory_stockouts_total"), 2.0, {}),  # noqa: E501
    # The late +10 (day 0.5) finds day 1 closed: its episode is not re-derived (SPEC §4.1);
    # day 3 is open and re-walked from the shifted base (10 - 5 = 5 > 0): only day 1's.
    ("counter/stockouts-window-closed-kept", late_adjustment_erases_episodes, at_loc("inventory_stockout_events", window="30d"), 1.0, {}),  # noqa: E501
    # Expedite premiums of every dispatch: $10 + $20.
    ("counter/expedite", expedites, at_loc("inventory_expedite_cost_dollars_total"), 30.0, {}),
    # -- stockouts: an order line meeting an unknown position starts nothing --
    # Two order lines before any inventory event: no episode (no start-up burst).
    ("stockout/unknown-position-total", orders_before_any_inventory, at_loc("inventory_stockouts_total"), 0.0, {}),  # noqa: E501
    # ... none in the window either.
    ("stockout/unknown-position-window", orders_before_any_inventory, at_loc("inventory_stockout_events", window="7d"), 0.0, {}),  # noqa: E501
    # ... and the SKU-location is not "stocked out now".
    ("stockout/unknown-position-now", orders_before_any_inventory, at_loc("inventory_stocked_out_sku_locations"), 0.0, {}),  # noqa: E501
    # Once known at 0, the next order line starts one episode (O2, day 2); O3 finds it already out.
    ("stockout/known-empty-shelf-window", order_meets_a_known_empty_shelf, at_loc("inventory_stockout_events", window="7d"), 1.0, {}),  # noqa: E501
    # The counter takes it once the location's inventory is known past day 2 (B on day 2.6).
    ("stockout/known-empty-shelf-counted", empty_shelf_then_inventory, at_loc("inventory_stockouts_total"), 1.0, {}),  # noqa: E501
    # Until then (last inventory event day 1 < day 2) the episode is not settled: not counted yet.
    ("stockout/not-settled-yet", order_meets_a_known_empty_shelf, at_loc("inventory_stockouts_total"), 0.0, {}),  # noqa: E501
    # ... unless day 2 closes (tick on day 3): the episodes of a closed day are final, counted.
    ("stockout/settled-when-its-day-closes", empty_shelf_day_closes, at_loc("inventory_stockouts_total"), 1.0, {}),  # noqa: E501
    # Orders ran ahead of a restock (day 2) that precedes O1 (day 3): no episode, none counted.
    ("stockout/orders-ahead", orders_after_inventory_then_restock_arrives, at_loc("inventory_stockouts_total"), 0.0, {}),  # noqa: E501
    # Inventory ran ahead within day 0: O1 (day 0.3) met the empty shelf before the day-0.6
    # restock: one episode.
    ("stockout/inventory-ahead", restock_then_orders_behind, at_loc("inventory_stockouts_total"), 1.0, {}),  # noqa: E501
    # Across a closed day it is late: O1 (day 1) arrives after day 1 closed and starts nothing.
    ("stockout/late-order-line", order_behind_a_closed_day, at_loc("inventory_stockouts_total"), 0.0, {}),  # noqa: E501
    # ... nor in the window.
    ("stockout/late-order-line-window", order_behind_a_closed_day, at_loc("inventory_stockout_events", window="7d"), 0.0, {}),  # noqa: E501
    # -- forecast error: the latest forecast published at or before period_start --
    # [1, 2): F = 20 (day 0.5; the day-1.5 one is too late), A = 16, |16 - 20| = 4.
    ("forecast/abs-error", forecast_republished, at_loc("inventory_forecast_abs_error_units", window="7d"), 4.0, {}),  # noqa: E501
    # [2, 3) has no forecast published in time: skipped, so A = 16 only.
    ("forecast/actual", forecast_republished, at_loc("inventory_forecast_actual_units", window="7d"), 16.0, {}),  # noqa: E501
    # WAPE = 4 / 16.
    ("forecast/wape", forecast_republished, at_loc("inventory_forecast_wape_ratio", window="7d"), 0.25, {}),  # noqa: E501
    # One period scored.
    ("forecast/periods", forecast_republished, at_loc("inventory_forecast_periods", window="7d"), 1.0, {}),  # noqa: E501
    # MAPE numerator, renamed (no "_sum" on a gauge): 4 / 16.
    ("forecast/ape", forecast_republished, at_loc("inventory_forecast_absolute_percentage_errors", window="7d"), 0.25, {}),  # noqa: E501
    # -- planner override rate: matched overrides of the window's recommendations --
    # One recommendation, overridden: 1 / 1 (the override of an unknown one is not counted).
    ("override/ratio", override_of_unknown_recommendation, at_loc("inventory_planner_override_ratio", window="7d"), 1.0, {}),  # noqa: E501
    # The override of the unknown recommendation is counted apart.
    ("override/unmatched", override_of_unknown_recommendation, at_loc("inventory_overrides_unmatched_total"), 1.0, {}),  # noqa: E501
    # One of four recommendations overridden.
    ("override/share", one_override_in_four, at_loc("inventory_planner_override_ratio", window="7d"), 0.25, {}),  # noqa: E501
    # -- §4.1 windows of whole buckets: "7d" is today so far plus the six days before --
    # wm day 9.5: 7d = [day 3, day 9.5], 6.5 days (the old (wm - 7d, wm] was 7).
    ("bucket/7d-days", today_and_six_days, at_loc("inventory_window_covered_days", window="7d"), 6.5, {}),  # noqa: E501
    # 30d reaches back to day -20, before the location's first event: covered from day 0, 9.5 days.
    ("bucket/30d-covered", today_and_six_days, at_loc("inventory_window_covered_days", window="30d"), 9.5, {}),  # noqa: E501
    # The window starts at day 3.0 inclusive: S2 (day 3) is in, S1 (day 2.99) is not: $20.
    ("bucket/start-inclusive", dispatches_at_the_window_start, at_loc("inventory_window_expedite_cost_dollars", window="7d"), 20.0, {}),  # noqa: E501
    # Hourly buckets, 12h at wm day 1 12:30: [day 1 01:00, 12:30], 11.5 h = 11.5 / 24 days.
    ("bucket/hourly-12h", hourly_twelve_hours, at_loc("inventory_window_covered_days", window="12h"), 11.5 / 24, {"bucket_seconds": 3600, "windows": ["12h", "7d"]}),  # noqa: E501
    # -- §4.1 late events: counted per topic, applied where exact --
    # The late order lands in day 2 as if on time: fill rate 8 / 10.
    ("late/order-fill-rate", late_order_and_dispatch, at_loc("inventory_fill_rate_ratio", window="7d"), 0.8, {}),  # noqa: E501
    # ... and in day 2's demand: the forecast of [day 2, day 3) scores |10 - 12| = 2.
    ("late/order-forecast", late_order_and_dispatch, at_loc("inventory_forecast_abs_error_units", window="7d"), 2.0, {}),  # noqa: E501
    # One late event on the orders topic ...
    ("late/count-orders", late_order_and_dispatch, Read("late:orders"), 1, {}),
    # ... and one on the shipments topic.
    ("late/count-shipments", late_order_and_dispatch, Read("late:shipments"), 1, {}),
    # A late cancellation takes O2 out of day 2's demand: A = 10 against 12, |10 - 12| = 2.
    ("late/cancel-demand", late_cancellation_of_a_closed_order, at_loc("inventory_forecast_abs_error_units", window="7d"), 2.0, {}),  # noqa: E501
    # ... and out of the orders due: O1 only.
    ("late/cancel-orders-due", late_cancellation_of_a_closed_order, Read("inventory_window_orders_due", {**NORTH_WEB, "location": "L1", "window": "7d"}), 1.0, {}),  # noqa: E501
    # A late snapshot newer than every event of A is its position from day 3: 100 x $1 on
    # [0, 3) and 50 x $2 on [3, 5]: $100 throughout.
    ("late/newest-snapshot-value", late_newest_snapshot, at_loc("inventory_average_value_dollars", window="7d"), 100.0, {}),  # noqa: E501
    # Its cost reprices the day-4.5 line of a later closed day ($2); the day-3.5 line of its own
    # closed day keeps $1 (which lines of that day followed it is not known): $3.
    ("late/newest-snapshot-cogs", late_newest_snapshot, at_loc("inventory_window_cogs_dollars", window="7d"), 3.0, {}),  # noqa: E501
    # Current value: 50 x $2.
    ("late/newest-snapshot-now", late_newest_snapshot, at_loc("inventory_value_dollars"), 100.0, {}),  # noqa: E501
    # The late +5 (day 1) lasts until the day-2.5 snapshot: (10 x 2.5 + 20 x 1.5 + 5 x 1.5) / 4.
    ("late/adjustment-until-snapshot", late_adjustment_until_the_next_snapshot, at_loc("inventory_average_value_dollars", window="7d"), 15.625, {}),  # noqa: E501
    # ... and the position after that snapshot is unchanged: 20.
    ("late/adjustment-superseded-now", late_adjustment_until_the_next_snapshot, at_loc("inventory_value_dollars"), 20.0, {}),  # noqa: E501
    # No snapshot after it: -4 from day 1 on, the position too: (10 x 1 + 6 x 2) / 3.
    ("late/adjustment-moves-average", late_adjustment_moves_the_position, at_loc("inventory_average_value_dollars", window="7d"), 22 / 3, {}),  # noqa: E501
    # Current value 10 - 4 = 6.
    ("late/adjustment-moves-now", late_adjustment_moves_the_position, at_loc("inventory_value_dollars"), 6.0, {}),  # noqa: E501
    # Between two snapshots of closed day 0 it is superseded at an unknown time: nothing moves.
    ("late/adjustment-between-snapshots", late_adjustment_between_two_snapshots_of_a_day, at_loc("inventory_average_value_dollars", window="7d"), 10.0, {}),  # noqa: E501
    # ... but it is counted late.
    ("late/adjustment-between-snapshots-count", late_adjustment_between_two_snapshots_of_a_day, Read("late:inventory"), 1, {}),  # noqa: E501
    # Older than every window (day 5 < day 40 - 29): dropped, the position stays 10.
    ("late/dropped-position", older_than_every_window, at_loc("inventory_value_dollars"), 10.0, {}),
    # ... no units ordered counted either.
    ("late/dropped-counter", older_than_every_window, at_loc("inventory_units_ordered_total"), 0.0, {}),  # noqa: E501
    # ... but both are counted late.
    ("late/dropped-count", older_than_every_window, Read("late:inventory"), 1, {}),
    # Late plans land in their days: R1, R2 recommended in the window, R1 overridden: 1 / 2.
    ("late/plans-override", late_plans, at_loc("inventory_planner_override_ratio", window="7d"), 0.5, {}),  # noqa: E501
    # ... and the late policy applied counts: 1 change over 1 SKU-location.
    ("late/plans-applied", late_plans, at_loc("inventory_policy_changes_per_sku_location", window="7d"), 1.0, {}),  # noqa: E501
    # Four late events on the plans topic.
    ("late/plans-count", late_plans, Read("late:plans"), 4, {}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("log", "read", "expected", "overrides"),
    [pytest.param(log, read, expected, overrides, id=name) for name, log, read, expected, overrides in SCENARIOS],  # noqa: E501
)  # fmt: skip
def test_spec_scenario(log: Log, read: Read, expected: Any, overrides: dict[str, Any]) -> None:
    """The engine reads each hand-made log exactly as SPEC §4 says (values worked out by hand)."""
    engine = KpiEngine(settings(**overrides))
    for event in log():
        engine.add(event)
    got = read(engine)
    if isinstance(expected, float):
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
    else:
        assert got == expected


SAMPLE_SCENARIOS = [row for row in SCENARIOS if ":" not in row[2].name]


@pytest.mark.parametrize(
    ("log", "read", "expected", "overrides"),
    [pytest.param(log, read, expected, overrides, id=name) for name, log, read, expected, overrides in SAMPLE_SCENARIOS],  # noqa: E501
)  # fmt: skip
def test_batch_reference_reads_the_scenarios_the_same_way(
    log: Log, read: Read, expected: Any, overrides: dict[str, Any]
) -> None:
    """The batch reference agrees with the hand-worked value of every sample scenario."""
    series = batch_kpis.compute([e.model_dump(mode="json") for e in log()], settings(**overrides))
    got = series.get((read.name, frozenset(read.labels.items())))
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
