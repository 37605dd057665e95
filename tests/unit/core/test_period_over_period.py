"""SPEC §4.3 by hand: prior windows, change ratios, insights and policy-source cohorts.

Conventions as in `test_spec_scenarios`: days after T0, allowed lateness 0 (the
watermark is the latest event time), daily buckets. Only the "7d" window unless
a test names others: at watermark day 13.5 it is [day 7, day 13.5] (6.5 days)
and its prior window is [day 0, day 7) (7 days).
"""

from __future__ import annotations

import pytest

from streams.core.checkpoint import CheckpointError
from streams.core.engine import KpiEngine
from streams.events import models as m
from tests.unit.core.factories import (
    applied,
    at,
    dispatch,
    order,
    overridden,
    recommended,
    settings,
    snapshot,
    tick,
)
from tests.unit.core.helpers import run, value

W = {"location": "L1", "window": "7d"}
EXACT = 1e-12


def two_periods() -> list[m.Event]:
    """S1 holds 100 units at $10 throughout ($1000, flat). Prior: 10 ordered, 8 shipped
    (COGS $80). Current: the model's policy is applied at day 7.5 (recommendation R1, not
    overridden); 10 ordered at day 8, all 10 shipped (COGS $100). No stockout."""
    return [
        snapshot("S1", 100, unit_cost=10.0, t=at(0)),
        order("O1", [("1", "S1", 10, 20.0)], t=at(1), promised=at(2)),
        dispatch("D1", "O1", [("1", "S1", 8)], t=at(1.5)),
        recommended("S1", t=at(7.4), recommendation_id="R1"),
        applied("S1", t=at(7.5), recommendation_id="R1"),
        order("O2", [("1", "S1", 10, 20.0)], t=at(8), promised=at(9)),
        dispatch("D2", "O2", [("1", "S1", 10)], t=at(8.5)),
        tick(t=at(13.5)),
    ]


def kpi(engine: KpiEngine, name: str, kpi_name: str) -> float | None:
    return value(engine, name, kpi=kpi_name, **W)


@pytest.mark.parametrize(
    ("kpi_name", "prior", "change"),
    [
        ("turns", 80 / 1000 * 365 / 7, (100 / 6.5) / (80 / 7) - 1),  # 4.1714 -> 5.6154: +34.6 %
        ("days_inventory_outstanding", 1000 / 80 * 7, (65 - 87.5) / 87.5),  # 87.5 -> 65 days
        ("average_inventory_value", 1000.0, 0.0),  # flat
        ("fill_rate", 0.8, 0.25),  # 8/10 -> 10/10
        ("service_per_million", 800.0, 0.25),  # 0.8 / $0.001M -> 1.0 / $0.001M
        ("stockout_events", 0.0, None),  # a prior of 0 has no ratio
        ("line_fill_rate", 0.0, None),  # 0 of 1 line filled
        ("policy_changes_per_sku_location", 0.0, None),  # 0 -> 1 per SKU-location
        ("planner_override", None, None),  # no recommendation in the prior window
        # Numerators and denominators, for a network-wide prior (SPEC §5).
        ("cogs", 80.0, 0.25),  # 8 x $10 -> 10 x $10
        ("covered_days", 7.0, -1 / 14),  # 7 -> 6.5 days
        ("units_ordered", 10.0, 0.0),
        ("units_shipped", 8.0, 0.25),
        ("order_lines_filled", 0.0, None),
        ("sales", 160.0, 0.25),  # 8 x $20 -> 10 x $20
        ("policy_changes", 0.0, None),
        ("policy_recommendations", 0.0, None),
    ],
)
def test_prior_window_and_change_ratio(
    kpi_name: str, prior: float | None, change: float | None
) -> None:
    """Each windowed KPI is read over the prior window of the same whole buckets, and the
    change ratio is (current - prior) / |prior|."""
    engine = run(two_periods(), windows=["7d"])
    found = kpi(engine, "inventory_kpi_prior", kpi_name)
    assert found == (None if prior is None else pytest.approx(prior, rel=EXACT))
    ratio = kpi(engine, "inventory_kpi_change_ratio", kpi_name)
    assert ratio == (None if change is None else pytest.approx(change, rel=EXACT, abs=EXACT))


@pytest.mark.parametrize(
    ("insight", "expected"),
    [
        ("turns_without_stockouts", 1.0),  # turns +34.6 %, stockouts 0 -> 0
        ("service_without_inventory", 1.0),  # fill rate +25 %, value +0 % (tolerance 2 %)
        ("fewer_surprises", 0.0),  # stockouts and expedite % flat, no forecasts: none down
        ("simultaneous_improvement", 0.0),  # risk (stockouts) unchanged
    ],
)
def test_insights_of_two_designed_periods(insight: str, expected: float) -> None:
    """Turns and fill rate up with stockouts and inventory flat: the first two insights hold."""
    engine = run(two_periods(), windows=["7d"])
    assert value(engine, "inventory_insight", insight=insight, **W) == expected


@pytest.mark.parametrize(
    ("name", "source", "expected"),
    [
        ("inventory_cohort_units_ordered", "model", 10.0),  # O2 placed at day 8, after 7.5
        ("inventory_cohort_units_shipped", "model", 10.0),
        ("inventory_cohort_units_ordered", "none", 0.0),  # O1 is due before the window
        ("inventory_cohort_units_ordered", "planner", 0.0),
        ("inventory_cohort_cogs_dollars", "model", 100.0),  # D2 in day 8, under the model
        ("inventory_cohort_cogs_dollars", "none", 0.0),
        # Day 7 began before the policy: $1000 x 1 day, then $1000 x 5.5 days, over 6.5.
        ("inventory_cohort_average_value_dollars", "none", 1000 * 1 / 6.5),
        ("inventory_cohort_average_value_dollars", "model", 1000 * 5.5 / 6.5),
        ("inventory_cohort_average_value_dollars", "planner", 0.0),
    ],
)
def test_cohorts_of_two_designed_periods(name: str, source: str, expected: float) -> None:
    """Order lines count in the cohort in force at placement, value and COGS per bucket in
    the cohort in force at the bucket's start."""
    engine = run(two_periods(), windows=["7d"])
    assert value(engine, name, policy_source=source, **W) == pytest.approx(expected, rel=EXACT)


def planner_log(override_first: bool) -> list[m.Event]:
    """S2: a recommendation R2 is overridden and the override applied, in either order."""
    override = overridden("S2", t=at(7.3), recommendation_id="R2")
    apply = applied("S2", t=at(7.4), recommendation_id="R2")
    return [
        snapshot("S2", 50, unit_cost=2.0, t=at(0)),
        recommended("S2", t=at(7.2), recommendation_id="R2"),
        *([override, apply] if override_first else [apply, override]),
        order("O3", [("1", "S2", 4, 5.0)], t=at(7.6), promised=at(7.8)),
        dispatch("D3", "O3", [("1", "S2", 3)], t=at(7.7)),
        tick(t=at(7.9)),
    ]


@pytest.mark.parametrize("override_first", [True, False])
def test_an_overridden_recommendation_is_the_planners(override_first: bool) -> None:
    """A policy applied from an overridden recommendation is `planner`, whichever of the two
    arrived first inside the open bucket."""
    engine = run(planner_log(override_first), windows=["7d"])
    assert value(engine, "inventory_cohort_units_ordered", policy_source="planner", **W) == 4.0
    assert value(engine, "inventory_cohort_units_shipped", policy_source="planner", **W) == 3.0
    assert value(engine, "inventory_cohort_units_ordered", policy_source="model", **W) == 0.0


def test_no_prior_for_a_location_younger_than_the_prior_window() -> None:
    """A location whose data began after the prior window's first bucket has no prior, so no
    change ratio and no insight."""
    events = two_periods()[1:]  # no snapshot at day 0: the data begins at day 1
    engine = run(events, windows=["7d"])
    names = {s.name for s in engine.samples()}
    assert not names & {"inventory_kpi_prior", "inventory_kpi_change_ratio", "inventory_insight"}


def test_forgetting_orders_keeps_the_prior_window() -> None:
    """Orders older than the longest window are forgotten by pruning; their outcomes stay in
    the prior window's service totals, so the 30d prior fill rate does not move."""
    events = [
        snapshot("S1", 100, unit_cost=10.0, t=at(-20)),
        order("O1", [("1", "S1", 10, 20.0)], t=at(1), promised=at(2)),
        dispatch("D1", "O1", [("1", "S1", 7)], t=at(1.5)),
        order("O2", [("1", "S1", 10, 20.0)], t=at(40), promised=at(41)),
        dispatch("D2", "O2", [("1", "S1", 10)], t=at(40.5)),
        tick(t=at(45.5)),
    ]
    engine = run(events)  # 7d and 30d: the 30d prior is [day -14, day 16)
    labels = {"location": "L1", "window": "30d", "kpi": "fill_rate"}
    assert value(engine, "inventory_kpi_prior", **labels) == 0.7
    engine.prune()
    assert ("L1", "O1") not in engine._locations["L1"].book.orders  # due day 2 < horizon day 16
    assert value(engine, "inventory_kpi_prior", **labels) == 0.7


def test_a_checkpoint_that_kept_less_is_read_and_its_priors_wait() -> None:
    """A checkpoint taken with a shorter span kept (before prior windows) is restored; prior
    windows reaching before its complete history stay absent; a longer span is refused."""
    engine = run(two_periods(), windows=["7d"])  # keeps 30 days
    blob = engine.dump_location("L1")
    restored = KpiEngine.restore(settings(windows=["7d", "30d"]), None, [blob])  # keeps 60
    assert value(restored, "inventory_kpi_prior", kpi="fill_rate", **W) == 0.8  # 7d: inside
    labels = {"location": "L1", "window": "30d", "kpi": "fill_rate"}
    assert value(restored, "inventory_kpi_prior", **labels) is None  # would reach day -16
    longer = KpiEngine(settings(windows=["7d", "45d"]))
    longer.add(snapshot("S1", 1, t=at(0)))
    with pytest.raises(CheckpointError, match="span"):
        KpiEngine.restore(settings(windows=["7d"]), None, [longer.dump_location("L1")])
