"""Turn a location's figures into samples (names and labels of docs/METRICS.md).

A KPI whose denominator is 0 yields no sample. Label values are raw event data;
sanitising and capping them is the exporter's job.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from streams.core.figures import PRIOR_KPIS, LocationFigures, WindowFigures, window_kpis
from streams.core.insights import change_ratio
from streams.core.samples import REPLAN_BUCKETS, REPLAN_HISTOGRAM, Sample, bucket_label, sample
from streams.core.service import Population, ServiceTotals

_DIMENSIONS: tuple[tuple[str, int], ...] = (("region", 0), ("channel", 1), ("customer_tier", 2))

_WINDOW_GAUGES: tuple[tuple[str, Callable[[WindowFigures], float | None]], ...] = (
    ("inventory_turns_annualized", lambda w: w.turns),
    ("inventory_days_inventory_outstanding_days", lambda w: w.days_inventory_outstanding),
    ("inventory_window_cogs_dollars", lambda w: w.cogs),
    ("inventory_average_value_dollars", lambda w: w.average_value),
    ("inventory_window_covered_days", lambda w: w.covered_days),
    ("inventory_fill_rate_ratio", lambda w: w.fill_rate),
    ("inventory_line_fill_rate_ratio", lambda w: w.line_fill_rate),
    ("inventory_otif_ratio", lambda w: w.otif),
    ("inventory_stockout_events", lambda w: w.stockouts),
    ("inventory_forecast_wape_ratio", lambda w: w.forecast.wape),
    ("inventory_forecast_mape_ratio", lambda w: w.forecast.mape),
    ("inventory_forecast_abs_error_units", lambda w: w.forecast.abs_error),
    ("inventory_forecast_actual_units", lambda w: w.forecast.actual),
    ("inventory_forecast_absolute_percentage_errors", lambda w: w.forecast.ape_sum),
    ("inventory_forecast_periods", lambda w: w.forecast.periods),
    ("inventory_expedite_cost_sales_ratio", lambda w: w.expedite_cost_sales),
    ("inventory_window_expedite_cost_dollars", lambda w: w.expedite_cost),
    ("inventory_window_sales_dollars", lambda w: w.sales),
    ("inventory_service_level_per_million_dollars", lambda w: w.service_per_million),
    ("inventory_cost_to_service_slope", lambda w: w.cost_to_service_slope),
    ("inventory_working_capital_at_risk_dollars", lambda w: w.working_capital_at_risk),
    ("inventory_policy_changes_per_sku_location", lambda w: w.policy_changes_per_sku_location),
    ("inventory_window_policy_changes", lambda w: w.policy_changes),
    ("inventory_planner_override_ratio", lambda w: w.override_rate),
    ("inventory_window_policy_overrides", lambda w: w.overrides),
    ("inventory_window_policy_recommendations", lambda w: w.recommendations),
    ("inventory_time_to_replan_median_seconds", lambda w: w.replan_median),
)

_SERVICE_COUNTS: tuple[tuple[str, Callable[[ServiceTotals], float]], ...] = (
    ("inventory_window_units_ordered", lambda t: t.ordered),
    ("inventory_window_units_shipped", lambda t: t.shipped),
    ("inventory_window_order_lines", lambda t: t.lines),
    ("inventory_window_order_lines_filled", lambda t: t.lines_filled),
    ("inventory_window_orders_due", lambda t: t.orders),
    ("inventory_window_orders_otif", lambda t: t.otif),
)


def _service_samples(location: str, window: str, population: Population) -> list[Sample]:
    out: list[Sample] = []
    groups = sorted(population.groups.items())
    for (region, channel, tier), totals in groups:
        # The labels sorted by key, as `sample` sorts them: built once for six samples.
        group_labels = (
            ("channel", channel), ("customer_tier", tier), ("location", location),
            ("region", region), ("window", window),
        )  # fmt: skip
        for name, read in _SERVICE_COUNTS:
            out.append(Sample(name, group_labels, float(read(totals))))
    for dimension, position in _DIMENSIONS:
        merged: dict[str, ServiceTotals] = {}
        for group, totals in groups:
            into = merged.setdefault(group[position], ServiceTotals())
            into.ordered += totals.ordered
            into.shipped += totals.shipped
            into.orders += totals.orders
            into.otif += totals.otif
        for value, totals in sorted(merged.items()):
            labels = {"location": location, "window": window, dimension: value}
            if totals.ordered:
                out.append(
                    sample(
                        f"inventory_fill_rate_by_{dimension}_ratio",
                        totals.shipped / totals.ordered,
                        **labels,
                    )
                )
            if totals.orders:
                out.append(
                    sample(
                        f"inventory_otif_by_{dimension}_ratio",
                        totals.otif / totals.orders,
                        **labels,
                    )
                )
    return out


def _prior_samples(location: str, w: WindowFigures) -> list[Sample]:
    """The prior window's KPIs, change ratios, insights and cohorts of a window (SPEC §4.3)."""
    out: list[Sample] = []
    if w.prior is not None:
        current, prior = window_kpis(w), window_kpis(w.prior)
        for kpi in PRIOR_KPIS:
            before = prior.get(kpi)
            if before is None:
                continue
            out.append(
                sample("inventory_kpi_prior", before, kpi=kpi, location=location, window=w.window)
            )
            change = change_ratio(current.get(kpi), before)
            if change is not None:
                out.append(
                    sample(
                        "inventory_kpi_change_ratio",
                        change,
                        kpi=kpi,
                        location=location,
                        window=w.window,
                    )
                )
    for insight, signal in w.insights:
        out.append(
            sample(
                "inventory_insight",
                float(signal),
                insight=insight,
                location=location,
                window=w.window,
            )
        )
    for cohort in w.cohorts:
        labels = {"location": location, "policy_source": cohort.policy_source, "window": w.window}
        out.append(sample("inventory_cohort_units_ordered", cohort.units_ordered, **labels))
        out.append(sample("inventory_cohort_units_shipped", cohort.units_shipped, **labels))
        out.append(sample("inventory_cohort_cogs_dollars", cohort.cogs, **labels))
        if cohort.average_value is not None:
            out.append(
                sample("inventory_cohort_average_value_dollars", cohort.average_value, **labels)
            )
    return out


def _histogram(location: str, observations: tuple[float, ...]) -> list[Sample]:
    out = [
        sample(
            f"{REPLAN_HISTOGRAM}_bucket",
            float(sum(x <= bound for x in observations)),
            location=location,
            le=bucket_label(bound),
        )
        for bound in (*REPLAN_BUCKETS, math.inf)
    ]
    out.append(sample(f"{REPLAN_HISTOGRAM}_count", float(len(observations)), location=location))
    out.append(sample(f"{REPLAN_HISTOGRAM}_sum", math.fsum(observations), location=location))
    return out


def location_samples(figures: LocationFigures, top_at_risk: int) -> list[Sample]:
    """Every sample of one location, in a fixed order."""
    loc = figures.location
    out: list[Sample] = []
    for w in figures.windows:
        window_labels = (("location", loc), ("window", w.window))  # sorted, as `sample` sorts
        for name, read in _WINDOW_GAUGES:
            value = read(w)
            if value is not None:
                out.append(Sample(name, window_labels, float(value)))
        out.extend(_service_samples(loc, w.window, w.service))
        out.extend(_prior_samples(loc, w))
    out.append(sample("inventory_value_dollars", figures.value, location=loc))
    out.append(sample("inventory_sku_locations", float(figures.sku_locations), location=loc))
    out.append(
        sample("inventory_stocked_out_sku_locations", float(figures.stocked_out), location=loc)
    )
    out.append(
        sample(
            "inventory_projected_stockout_sku_locations",
            float(figures.projected_stockouts),
            location=loc,
        )
    )
    out.append(sample("inventory_watermark_timestamp_seconds", figures.watermark, location=loc))
    if figures.excess_obsolete is not None:
        out.append(
            sample("inventory_excess_obsolete_value_dollars", figures.excess_obsolete, location=loc)
        )
        eo_ratio = figures.excess_obsolete_ratio
        if eo_ratio is not None:
            out.append(sample("inventory_excess_obsolete_ratio", eo_ratio, location=loc))
    out.append(
        sample(
            "inventory_disruptions_awaiting_replan", float(figures.awaiting_replan), location=loc
        )
    )
    age = figures.oldest_unreplanned_age
    if age is not None:
        out.append(sample("inventory_disruption_oldest_unreplanned_age_seconds", age, location=loc))
    for point in figures.periods:
        if point.fill_rate is not None:
            out.append(
                sample(
                    "inventory_cost_to_service_fill_rate_ratio",
                    point.fill_rate,
                    location=loc,
                    period=point.label,
                )
            )
        if point.average_value is not None:
            out.append(
                sample(
                    "inventory_cost_to_service_average_value_dollars",
                    point.average_value,
                    location=loc,
                    period=point.label,
                )
            )
    for view in figures.closest_to_stockout(top_at_risk):
        out.append(
            sample(
                "inventory_at_risk_days_of_cover",
                view.days_of_cover or 0.0,
                location=loc,
                sku=view.sku,
            )
        )
    for name, total in figures.counters:
        out.append(sample(name, total, location=loc))
    if figures.replans:  # a location no disruption has reached yet has no histogram
        out.extend(_histogram(loc, figures.replans))
    return out
