"""Panels built the same way on more than one board; callers pass what differs."""

from __future__ import annotations

from dashboards import promql as q
from dashboards import targets
from dashboards.layout import PanelBuilder
from dashboards.panels import (
    COUNT,
    DAYS,
    DOLLARS,
    RATIO,
    SECONDS,
    Column,
    Query,
    bar_gauge,
    stat,
    table,
    timeseries,
)
from dashboards.targets import Target

# Queries several boards share.
WAPE = q.ratio("inventory_forecast_abs_error_units", "inventory_forecast_actual_units")
MAPE = q.ratio("inventory_forecast_absolute_percentage_errors", "inventory_forecast_periods")
# One point-in-time figure per location (no window label): the same whatever $window says.
EXCESS_OBSOLETE = (
    f"{q.total('inventory_excess_obsolete_value_dollars', q.AT)}"
    f" / {q.total('inventory_value_dollars', q.AT)}"
)
OVERRIDE_RATE = q.ratio(
    "inventory_window_policy_overrides", "inventory_window_policy_recommendations"
)
POLICY_CHANGES_PER_SKU_LOCATION = (
    f"{q.total('inventory_window_policy_changes')} / {q.total('inventory_sku_locations', q.AT)}"
)


def fill_rate(description: str, width: int) -> PanelBuilder:
    """Network fill rate against its target."""
    return stat(
        "Fill rate",
        description,
        [Query(q.fill_rate(), "fill rate")],
        unit=RATIO,
        decimals=1,
        target=targets.FILL_RATE,
        width=width,
    )


def fill_rate_by_location(description: str) -> PanelBuilder:
    """Fill rate per location as bars against the target."""
    return bar_gauge(
        "Fill rate by location",
        description,
        [Query(q.fill_rate(labels="location"), "{{location}}")],
        unit=RATIO,
        decimals=1,
        target=targets.FILL_RATE,
        min_value=0,
        max_value=1,
    )


def working_capital_at_risk(description: str, width: int = 4) -> PanelBuilder:
    """Σ current value of the SKU-locations at risk."""
    return stat(
        "Working capital at risk",
        description,
        [Query(q.total("inventory_working_capital_at_risk_dollars"), "at risk")],
        unit=DOLLARS,
        decimals=0,
        width=width,
    )


def _sku_locations_now(
    title: str, description: str, metric: str, legend: str, target: Target, width: int
) -> PanelBuilder:
    return stat(
        title,
        description,
        [Query(q.total(metric, q.AT), legend)],
        unit=COUNT,
        decimals=0,
        target=target,
        width=width,
    )


def stocked_out_now(description: str, width: int) -> PanelBuilder:
    """SKU-locations with nothing on hand now."""
    return _sku_locations_now(
        "Stocked out now",
        description,
        "inventory_stocked_out_sku_locations",
        "stocked out",
        targets.STOCKED_OUT_NOW,
        width,
    )


def projected_stockouts(title: str, description: str, width: int) -> PanelBuilder:
    """SKU-locations projected to stock out within their lead time."""
    return _sku_locations_now(
        title,
        description,
        "inventory_projected_stockout_sku_locations",
        "projected",
        targets.PROJECTED_STOCKOUTS,
        width,
    )


def closest_to_stockout(title: str, description: str, count: int, height: int = 8) -> PanelBuilder:
    """The `count` SKU-locations with the fewest days of cover."""
    return table(
        title,
        description,
        [
            Query(
                f"bottomk({count}, sum by (location, sku) (inventory_at_risk_days_of_cover{q.AT}))",
                table=True,
            )
        ],
        [Column("Days of cover", DAYS, 1, targets.DAYS_OF_COVER)],
        sort_by="Days of cover",
        height=height,
    )


def time_to_replan(title: str, description: str, quantile: float, legend: str) -> PanelBuilder:
    """A quantile of time-to-replan over every disruption seen."""
    return stat(
        title,
        description,
        [Query(q.replan_quantile(quantile), legend)],
        unit=SECONDS,
        decimals=1,
        target=targets.TIME_TO_REPLAN_SECONDS,
        unit_word=" s",
        width=8,
    )


def awaiting_replan(description: str, width: int = 8) -> PanelBuilder:
    """Σ active disruptions not replanned yet, over the selected locations."""
    return stat(
        "Disruptions awaiting a replan",
        description,
        [
            Query(
                q.or_zero(q.total("inventory_disruptions_awaiting_replan", q.AT)),
                "awaiting",
            )
        ],
        unit=COUNT,
        decimals=0,
        target=targets.AWAITING_REPLAN,
        width=width,
    )


def oldest_unreplanned(description: str, width: int = 8) -> PanelBuilder:
    """Age of the oldest disruption still awaiting a replan, over the selected locations."""
    return stat(
        "Oldest disruption awaiting a replan",
        description,
        [
            Query(
                q.or_zero(f"max(inventory_disruption_oldest_unreplanned_age_seconds{q.AT})"),
                "oldest",
            )
        ],
        unit=SECONDS,
        decimals=1,
        target=targets.TIME_TO_REPLAN_SECONDS,
        unit_word=" s",
        width=width,
    )


def time_to_replan_by_location(title: str) -> PanelBuilder:
    """Median time-to-replan of the disruptions reported in the window, per location."""
    return timeseries(
        title,
        "Median time-to-replan of the disruptions reported in the window, per location.",
        [Query(f"inventory_time_to_replan_median_seconds{q.IN_WINDOW}", "{{location}}")],
        unit=SECONDS,
        decimals=0,
        target=targets.TIME_TO_REPLAN_SECONDS,
        unit_word=" s",
    )
