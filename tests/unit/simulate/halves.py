"""Plain-Python KPIs of a simulated log per SKU-location cohort and period (no engine).

The definitions follow SPEC §4 in their simplest form: time-weighted average
inventory value from snapshots and adjustments, COGS as dispatched units x the
unit cost of the latest snapshot, fill rate as shipped (capped at ordered) ÷
ordered over the lines of orders promised in the period (cancelled orders
excluded), and stockout episodes as they start.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.unit.simulate.replay import of_type, ts

Key = tuple[str, str]  # (sku, location)


@dataclass
class PeriodKpis:
    """One cohort's figures over one period [start, end) (epoch seconds)."""

    start: float
    end: float
    value_seconds: float = 0.0  # integral of on_hand x unit_cost over the period ($ s)
    cogs: float = 0.0
    ordered: float = 0.0
    shipped: float = 0.0
    stockouts: int = 0

    @property
    def average_value(self) -> float:
        return self.value_seconds / (self.end - self.start)

    @property
    def turns(self) -> float:
        """COGS ÷ average inventory value, annualised."""
        return self.cogs / self.average_value * 365 * 86400 / (self.end - self.start)

    @property
    def fill_rate(self) -> float:
        return self.shipped / self.ordered if self.ordered else float("nan")


def applied_cohorts(log: Iterable[dict[str, Any]]) -> dict[Key, str]:
    """Each SKU-location's cohort by its latest `policy.applied` (SPEC §4.3)."""
    events = list(log)
    overridden = {e["recommendation_id"] for e in of_type(events, "policy.overridden")}
    cohorts: dict[Key, str] = {}
    for event in of_type(events, "policy.applied"):
        recommendation = event.get("recommendation_id")
        model = recommendation is not None and recommendation not in overridden
        cohorts[(event["sku"], event["location"])] = "model" if model else "planner"
    return cohorts


def kpis_by_period(
    log: list[dict[str, Any]], cohort_of: Mapping[Key, str], periods: list[tuple[float, float]]
) -> dict[tuple[str, int], PeriodKpis]:
    """{(cohort, period index): PeriodKpis} over the given periods (epoch seconds)."""
    result = {
        (cohort, index): PeriodKpis(start, end)
        for cohort in set(cohort_of.values())
        for index, (start, end) in enumerate(periods)
    }

    def period_of(t: float) -> int | None:
        for index, (start, end) in enumerate(periods):
            if start <= t < end:
                return index
        return None

    def add_value(key: Key, since: float, until: float, value: float) -> None:
        for index, (start, end) in enumerate(periods):
            overlap = min(until, end) - max(since, start)
            if overlap > 0:
                result[(cohort_of[key], index)].value_seconds += overlap * value

    on_hand: dict[Key, float] = {}
    unit_cost: dict[Key, float] = {}
    since: dict[Key, float] = {}
    stocked_out: set[Key] = set()
    cancelled = {e["order_id"] for e in of_type(log, "order.cancelled")}
    shipped: dict[tuple[str, str], float] = defaultdict(float)
    for event in of_type(log, "shipment.dispatched"):
        for line in event["lines"]:
            shipped[(event["order_id"], line["line_id"])] += line["quantity"]

    def move(key: Key, t: float, new: float) -> None:
        old = on_hand.get(key)
        if old is not None:
            add_value(key, since[key], t, old * unit_cost[key])
        if new == 0 and old is not None and old > 0 and key not in stocked_out:
            stocked_out.add(key)
            start_stockout(key, t)
        elif new > 0:
            stocked_out.discard(key)
        on_hand[key], since[key] = new, t

    def start_stockout(key: Key, t: float) -> None:
        index = period_of(t)
        if index is not None:
            result[(cohort_of[key], index)].stockouts += 1

    for event in log:
        kind, t = event["event_type"], ts(event["occurred_at"])
        if kind == "inventory.snapshot":
            key = (event["sku"], event["location"])
            unit_cost[key] = event["unit_cost"]
            move(key, t, event["on_hand"])
        elif kind == "inventory.adjusted":
            key = (event["sku"], event["location"])
            move(key, t, on_hand[key] + event["delta"])
        elif kind == "shipment.dispatched":
            index = period_of(t)
            if index is not None:
                for line in event["lines"]:
                    key = (line["sku"], event["location"])
                    result[(cohort_of[key], index)].cogs += line["quantity"] * unit_cost[key]
        elif kind == "order.placed":
            index = period_of(ts(event["promised_at"]))
            for line in event["lines"]:
                key = (line["sku"], event["location"])
                if on_hand.get(key) == 0 and key not in stocked_out:
                    stocked_out.add(key)
                    start_stockout(key, t)
                if index is not None and event["order_id"] not in cancelled:
                    figures = result[(cohort_of[key], index)]
                    figures.ordered += line["quantity"]
                    shipped_units = shipped[(event["order_id"], line["line_id"])]
                    figures.shipped += min(shipped_units, line["quantity"])
    end = max(end for _, end in periods)
    for key, level in on_hand.items():
        add_value(key, since[key], end, level * unit_cost[key])
    return result
