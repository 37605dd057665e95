"""Zero denominators: the KPI is absent (no sample), never 0 or NaN."""

from __future__ import annotations

import math

import pytest

from streams.events import models as m
from tests.unit.core.factories import at, recommended, snapshot, tick
from tests.unit.core.helpers import run, value


def empty_shelf_log() -> list[m.Event]:
    """A location with one empty SKU over two days and nothing else."""
    return [snapshot("A", 0, unit_cost=3.0, t=at(0)), tick(t=at(2))]


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("inventory_average_value_dollars", 0.0),
        ("inventory_turns_annualized", None),  # average value 0
        ("inventory_days_inventory_outstanding_days", None),  # COGS 0
        ("inventory_window_cogs_dollars", 0.0),
        ("inventory_fill_rate_ratio", None),
        ("inventory_line_fill_rate_ratio", None),
        ("inventory_otif_ratio", None),
        ("inventory_forecast_wape_ratio", None),
        ("inventory_forecast_mape_ratio", None),
        ("inventory_forecast_periods", 0.0),
        ("inventory_expedite_cost_sales_ratio", None),
        ("inventory_window_sales_dollars", 0.0),
        ("inventory_service_level_per_million_dollars", None),
        ("inventory_cost_to_service_slope", None),
        ("inventory_working_capital_at_risk_dollars", 0.0),
        ("inventory_policy_changes_per_sku_location", 0.0),  # 0 changes over 1 SKU-location
        ("inventory_planner_override_ratio", None),
        ("inventory_time_to_replan_median_seconds", None),
        ("inventory_stockout_events", 0.0),
    ],
)
def test_zero_denominators_are_absent(metric: str, expected: float | None) -> None:
    """Ratios with a zero denominator are missing; their numerators and denominators are present."""
    assert value(run(empty_shelf_log()), metric, location="L1", window="7d") == expected


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("inventory_excess_obsolete_value_dollars", 0.0),
        ("inventory_excess_obsolete_ratio", None),  # current value 0
        ("inventory_disruptions_awaiting_replan", 0.0),
        ("inventory_disruption_oldest_unreplanned_age_seconds", None),  # nothing awaits
    ],
)
def test_point_in_time_zero_denominators_are_absent(metric: str, expected: float | None) -> None:
    """The same holds for the point-in-time gauges, which carry no window."""
    assert value(run(empty_shelf_log()), metric, location="L1") == expected


@pytest.mark.parametrize(
    "metric",
    [
        "inventory_average_value_dollars",
        "inventory_turns_annualized",
        "inventory_policy_changes_per_sku_location",
    ],
)
def test_no_covered_time_or_known_sku_means_absent(metric: str) -> None:
    """A location whose only event is at its watermark covers no time and knows no SKU-location."""
    engine = run([recommended("A", t=at(0))])
    assert value(engine, metric, location="L1", window="7d") is None
    assert value(engine, "inventory_excess_obsolete_value_dollars", location="L1") is None
    assert value(engine, "inventory_window_covered_days", location="L1", window="7d") == 0.0
    assert value(engine, "inventory_planner_override_ratio", location="L1", window="7d") == 0.0


def test_lateness_band_only_covers_nothing() -> None:
    """Events all inside the allowed lateness put the watermark before the first event: 0 days."""
    engine = run(
        [snapshot("A", 5, t=at(0)), tick(t=at(0, hours=0.01))], allowed_lateness_seconds=120
    )
    assert value(engine, "inventory_window_covered_days", location="L1", window="7d") == 0.0


def test_no_sample_is_nan_or_infinite() -> None:
    """Every exported value is a finite number."""
    assert all(math.isfinite(s.value) for s in run(empty_shelf_log()).samples())
