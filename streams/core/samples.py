"""What the engine exports: one `Sample` per series value, and the metric catalog.

The catalog covers every KPI metric of docs/METRICS.md (the `kpimon_*` pipeline
metrics belong to the worker and exporter). Counters are listed under their full
name ending in `_total`. The histogram `inventory_time_to_replan_seconds`
is emitted as `_bucket` (cumulative, label `le`, "+Inf" last), `_count` and
`_sum` samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Labels = tuple[tuple[str, str], ...]
Kind = Literal["gauge", "counter", "histogram"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One series value. `labels` are sorted by key; values are passed through raw."""

    name: str
    labels: Labels
    value: float


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """A metric family: Prometheus type, help text (with the unit) and label names."""

    kind: Kind
    help: str
    labels: tuple[str, ...]


def sample(name: str, value: float, **labels: str) -> Sample:
    """A Sample with its labels sorted by key."""
    return Sample(name, tuple(sorted(labels.items())), value)


LW = ("location", "window")
SERVICE = ("channel", "customer_tier", "location", "region", "window")
LOC = ("location",)

REPLAN_BUCKETS: tuple[float, ...] = (
    3600.0,
    7200.0,
    14400.0,
    28800.0,
    43200.0,
    86400.0,
    172800.0,
    259200.0,
    604800.0,
)
"""Time-to-replan bucket bounds (s): 1h 2h 4h 8h 12h 1d 2d 3d 7d; "+Inf" is implied."""

REPLAN_HISTOGRAM = "inventory_time_to_replan_seconds"


def bucket_label(bound: float) -> str:
    """The `le` label of a bucket bound, as prometheus_client writes it ("3600.0", "+Inf")."""
    return "+Inf" if bound == float("inf") else repr(float(bound))


def _g(help_text: str, labels: tuple[str, ...] = LW) -> MetricInfo:
    return MetricInfo("gauge", help_text, labels)


def _c(help_text: str) -> MetricInfo:
    return MetricInfo("counter", help_text, LOC)


METRICS: dict[str, MetricInfo] = {
    # Working capital, per location and window.
    "inventory_turns_annualized": _g(
        "Inventory turns: COGS / average value x 365 / window days (1/year)"
    ),
    "inventory_days_inventory_outstanding_days": _g(
        "Days inventory outstanding: average value / COGS x window days (days)"
    ),
    "inventory_window_cogs_dollars": _g("COGS of dispatches in the window (dollars)"),
    "inventory_average_value_dollars": _g(
        "Time-weighted average inventory value over the covered window (dollars)"
    ),
    "inventory_window_covered_days": _g(
        "Covered part of the window since the location's first event (days)"
    ),
    # Service, per location and window.
    "inventory_fill_rate_ratio": _g(
        "Units shipped / units ordered over orders due in the window (ratio 0-1)"
    ),
    "inventory_line_fill_rate_ratio": _g(
        "Order lines filled / order lines due in the window (ratio 0-1)"
    ),
    "inventory_otif_ratio": _g("Orders on time in full / orders due in the window (ratio 0-1)"),
    # Risk, per location and window.
    "inventory_stockout_events": _g("Stockout episodes started in the window (count)"),
    "inventory_forecast_wape_ratio": _g(
        "Forecast WAPE: sum |A-F| / sum A over closed periods (ratio)"
    ),
    "inventory_forecast_mape_ratio": _g(
        "Forecast MAPE: mean |A-F|/A over closed periods with A > 0 (ratio)"
    ),
    "inventory_forecast_abs_error_units": _g("Sum of |A-F| over closed forecast periods (units)"),
    "inventory_forecast_actual_units": _g(
        "Sum of actual demand A over closed forecast periods (units)"
    ),
    "inventory_forecast_absolute_percentage_errors": _g(
        "Sum of |A-F|/A over closed forecast periods with A > 0, the MAPE numerator (1)"
    ),
    "inventory_forecast_periods": _g("Closed forecast periods with A > 0 (count)"),
    "inventory_expedite_cost_sales_ratio": _g(
        "Expedite cost / sales of dispatches in the window (ratio)"
    ),
    "inventory_window_expedite_cost_dollars": _g(
        "Expedite cost of dispatches in the window (dollars)"
    ),
    "inventory_window_sales_dollars": _g("Sales value of dispatches in the window (dollars)"),
    # Trade-offs, per location and window.
    "inventory_service_level_per_million_dollars": _g(
        "Fill rate / average inventory value in $1M (1/$1M)"
    ),
    "inventory_cost_to_service_slope": _g(
        "Delta fill rate / delta average value in $1M, last two complete periods (1/$1M)"
    ),
    "inventory_working_capital_at_risk_dollars": _g(
        "Current value of volatile or disrupted SKU-locations (dollars)"
    ),
    # Planning system, per location and window.
    "inventory_policy_changes_per_sku_location": _g(
        "Policies applied in the window / SKU-locations known (1)"
    ),
    "inventory_window_policy_changes": _g("Policies applied in the window (count)"),
    "inventory_planner_override_ratio": _g(
        "Share of the window's recommendations a planner overrode (ratio 0-1)"
    ),
    "inventory_window_policy_overrides": _g(
        "Recommendations of the window with a matching override (count)"
    ),
    "inventory_window_policy_recommendations": _g("Policy recommendations in the window (count)"),
    "inventory_time_to_replan_median_seconds": _g(
        "Median time-to-replan of disruptions reported in the window (seconds)"
    ),
    # Service detail, per location, window, region, channel and customer tier.
    "inventory_window_units_ordered": _g(
        "Units ordered, orders due in the window (units)", SERVICE
    ),
    "inventory_window_units_shipped": _g(
        "Units shipped capped per line, orders due in the window (units)", SERVICE
    ),
    "inventory_window_order_lines": _g("Order lines of orders due in the window (count)", SERVICE),
    "inventory_window_order_lines_filled": _g(
        "Order lines filled, orders due in the window (count)", SERVICE
    ),
    "inventory_window_orders_due": _g("Orders due in the window (count)", SERVICE),
    "inventory_window_orders_otif": _g(
        "Orders on time in full, due in the window (count)", SERVICE
    ),
    "inventory_fill_rate_by_region_ratio": _g("Fill rate by region (ratio 0-1)", (*LW, "region")),
    "inventory_fill_rate_by_channel_ratio": _g(
        "Fill rate by channel (ratio 0-1)", (*LW, "channel")
    ),
    "inventory_fill_rate_by_customer_tier_ratio": _g(
        "Fill rate by customer tier (ratio 0-1)", (*LW, "customer_tier")
    ),
    "inventory_otif_by_region_ratio": _g("OTIF by region (ratio 0-1)", (*LW, "region")),
    "inventory_otif_by_channel_ratio": _g("OTIF by channel (ratio 0-1)", (*LW, "channel")),
    "inventory_otif_by_customer_tier_ratio": _g(
        "OTIF by customer tier (ratio 0-1)", (*LW, "customer_tier")
    ),
    # Period over period, insights and cohorts (SPEC §4.3).
    "inventory_kpi_prior": _g(
        "A windowed KPI over the prior window: the same number of whole buckets just before "
        "the window (unit of the KPI named by `kpi`)",
        (*LW, "kpi"),
    ),
    "inventory_kpi_change_ratio": _g(
        "(current - prior) / |prior| of the KPI named by `kpi` (ratio)", (*LW, "kpi")
    ),
    "inventory_insight": _g(
        "Executive insight on the window vs its prior (signal: 1 holds, 0 neutral, -1 violated)",
        (*LW, "insight"),
    ),
    "inventory_cohort_units_ordered": _g(
        "Units ordered, orders due in the window, lines placed under the policy source (units)",
        (*LW, "policy_source"),
    ),
    "inventory_cohort_units_shipped": _g(
        "Units shipped capped per line, lines placed under the policy source (units)",
        (*LW, "policy_source"),
    ),
    "inventory_cohort_cogs_dollars": _g(
        "COGS in the window of SKU-locations under the policy source (dollars)",
        (*LW, "policy_source"),
    ),
    "inventory_cohort_average_value_dollars": _g(
        "Time-weighted average inventory value over the covered window of SKU-locations "
        "under the policy source (dollars)",
        (*LW, "policy_source"),
    ),
    # Point in time, per location.
    "inventory_value_dollars": _g(
        "Current inventory value, sum of on_hand x unit_cost (dollars)", LOC
    ),
    "inventory_sku_locations": _g("SKU-locations known at the location (count)", LOC),
    "inventory_stocked_out_sku_locations": _g("SKU-locations stocked out now (count)", LOC),
    "inventory_projected_stockout_sku_locations": _g(
        "SKU-locations projected to stock out inside the lead time (count)", LOC
    ),
    "inventory_watermark_timestamp_seconds": _g(
        "Event-time watermark of the location (seconds since epoch)", LOC
    ),
    "inventory_cost_to_service_fill_rate_ratio": _g(
        "Fill rate of a complete cost-to-service period (ratio 0-1)", ("location", "period")
    ),
    "inventory_cost_to_service_average_value_dollars": _g(
        "Average inventory value of a complete cost-to-service period (dollars)",
        ("location", "period"),
    ),
    "inventory_excess_obsolete_ratio": _g(
        "Excess and obsolete value / current inventory value, point in time (ratio 0-1)", LOC
    ),
    "inventory_excess_obsolete_value_dollars": _g(
        "Excess and obsolete inventory value, point in time (dollars)", LOC
    ),
    "inventory_disruptions_awaiting_replan": _g(
        "Active disruptions covering the location with no replan yet (count)", LOC
    ),
    "inventory_disruption_oldest_unreplanned_age_seconds": _g(
        "Watermark minus the report time of the oldest disruption awaiting a replan (seconds)",
        LOC,
    ),
    "inventory_at_risk_days_of_cover": _g(
        "Days of cover of the SKU-locations closest to stockout (days)", ("location", "sku")
    ),
    # Lifetime counters, per location.
    "inventory_units_ordered_total": _c(
        "Units on the order lines of each order's first placement, as processed (units)"
    ),
    "inventory_units_shipped_total": _c("Units on all dispatched shipment lines (units)"),
    "inventory_sales_dollars_total": _c(
        "Sales value of all dispatches: quantity x order line unit price (dollars)"
    ),
    "inventory_cogs_dollars_total": _c(
        "COGS of all dispatches at the unit cost known when processed (dollars)"
    ),
    "inventory_expedite_cost_dollars_total": _c("Expedite premium of all dispatches (dollars)"),
    "inventory_stockouts_total": _c("Stockout episodes, counted as they start and settle (count)"),
    "inventory_overrides_unmatched_total": _c(
        "Overrides processed while their recommendation was unknown (count)"
    ),
    # Histogram, per location.
    REPLAN_HISTOGRAM: MetricInfo(
        "histogram",
        "Disruption to the first policy applied for a SKU-location it covers, while active "
        "(seconds)",
        LOC,
    ),
}
