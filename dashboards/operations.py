"""Operations: drill-down by location, region, channel and customer tier."""

from __future__ import annotations

from typing import Any

from dashboards import promql as q
from dashboards import shared, targets, variables
from dashboards.layout import PanelBuilder, Section, board
from dashboards.panels import (
    COUNT,
    DAYS,
    DOLLARS,
    PER_HOUR,
    PER_MILLION,
    PER_YEAR,
    RATIO,
    Column,
    Query,
    bar_gauge,
    right_axis,
    stat,
    table,
    timeseries,
    xy_chart,
)

UID = "kpimon-operations"
AT_RISK = "inventory_working_capital_at_risk_dollars"
FILTERS = "orders due in the window at the selected locations, regions, channels and tiers"


def _spread(dimension: str) -> str:
    return f"stddev({q.fill_rate(q.SERVICE, dimension)})"


def _by_dimension(dimension: str, title: str) -> PanelBuilder:
    return bar_gauge(
        f"Fill rate by {title}",
        f"Σ units shipped ÷ Σ units ordered per {title}, {FILTERS}.",
        [Query(q.fill_rate(q.SERVICE, dimension), f"{{{{{dimension}}}}}")],
        unit=RATIO,
        decimals=1,
        target=targets.FILL_RATE,
        width=8,
        min_value=0,
        max_value=1,
    )


def _dimension_table(dimension: str, title: str, matcher: str) -> PanelBuilder:
    matchers = q.selector(q.LOCATION, q.WINDOW, matcher)
    return table(
        f"Service by location and {title}",
        f"Fill rate and OTIF per location and {title} as exported by the monitor "
        f"(inventory_*_by_{dimension}_ratio), orders due in the window.",
        [
            Query(
                f"sum by (location, {dimension}) "
                f"(inventory_fill_rate_by_{dimension}_ratio{matchers})",
                table=True,
            ),
            Query(
                f"sum by (location, {dimension}) (inventory_otif_by_{dimension}_ratio{matchers})",
                table=True,
            ),
        ],
        [
            Column("Fill rate", RATIO, 1, targets.FILL_RATE),
            Column("OTIF", RATIO, 1, targets.OTIF),
        ],
        sort_by="Fill rate",
        width=8,
    )


def _service() -> Section:
    return (
        "Service by region, channel and customer tier",
        [
            stat(
                "Fill rate (filtered)",
                f"Σ units shipped (capped per line) ÷ Σ units ordered, {FILTERS}.",
                [Query(q.fill_rate(q.SERVICE), "fill rate")],
                unit=RATIO,
                decimals=1,
                target=targets.FILL_RATE,
                width=6,
            ),
            stat(
                "OTIF (filtered)",
                f"Orders delivered on time in full ÷ orders due, {FILTERS}.",
                [Query(q.otif(q.SERVICE), "OTIF")],
                unit=RATIO,
                decimals=1,
                target=targets.OTIF,
                width=6,
            ),
            stat(
                "Fill-rate spread across regions",
                "Population standard deviation of the regional fill rates (each Σ shipped ÷ Σ "
                "ordered per region); 0 means every region gets the same service.",
                [Query(_spread("region"), "stddev regions")],
                unit=RATIO,
                decimals=2,
                width=6,
            ),
            stat(
                "Fill-rate spread across channels",
                "Population standard deviation of the fill rates per sales channel; 0 means "
                "every channel gets the same service.",
                [Query(_spread("channel"), "stddev channels")],
                unit=RATIO,
                decimals=2,
                width=6,
            ),
            _by_dimension("region", "region"),
            _by_dimension("channel", "channel"),
            _by_dimension("customer_tier", "customer tier"),
            timeseries(
                "Service variability across regions and channels",
                "Standard deviation of regional and channel fill rates, and the gap between the "
                "best and worst region, over time.",
                [
                    Query(_spread("region"), "stddev regions"),
                    Query(_spread("channel"), "stddev channels"),
                    Query(
                        f"max({q.fill_rate(q.SERVICE, 'region')})"
                        f" - min({q.fill_rate(q.SERVICE, 'region')})",
                        "best - worst region",
                    ),
                ],
                unit=RATIO,
                decimals=2,
            ),
            timeseries(
                "OTIF by customer tier",
                f"Orders on time in full ÷ orders due per customer tier, {FILTERS}.",
                [Query(q.otif(q.SERVICE, "customer_tier"), "{{customer_tier}}")],
                unit=RATIO,
                decimals=1,
                target=targets.OTIF,
                max_value=1,
            ),
            _dimension_table("region", "region", q.REGION),
            _dimension_table("channel", "channel", q.CHANNEL),
            _dimension_table("customer_tier", "customer tier", q.CUSTOMER_TIER),
        ],
    )


# The per-location gauges of the scorecard, each read over the KPI window.
SCORECARD: list[tuple[str, Column]] = [
    ("inventory_turns_annualized", Column("Turns", PER_YEAR, 1, targets.TURNS)),
    ("inventory_days_inventory_outstanding_days", Column("DIO", DAYS, 1, targets.DIO_DAYS)),
    ("inventory_fill_rate_ratio", Column("Fill rate", RATIO, 1, targets.FILL_RATE)),
    ("inventory_line_fill_rate_ratio", Column("Line fill", RATIO, 1, targets.LINE_FILL_RATE)),
    ("inventory_otif_ratio", Column("OTIF", RATIO, 1, targets.OTIF)),
    ("inventory_stockout_events", Column("Stockouts", COUNT, 0, targets.STOCKOUT_EVENTS)),
    ("inventory_forecast_wape_ratio", Column("WAPE", RATIO, 1, targets.WAPE)),
    ("inventory_forecast_mape_ratio", Column("MAPE", RATIO, 1, targets.MAPE)),
    ("inventory_expedite_cost_sales_ratio", Column("Expedite %", RATIO, 2, targets.EXPEDITE_SHARE)),
    ("inventory_service_level_per_million_dollars", Column("Service per $1M", PER_MILLION, 3)),
    ("inventory_planner_override_ratio", Column("Overrides", RATIO, 1, targets.OVERRIDE_RATE)),
    (
        "inventory_policy_changes_per_sku_location",
        Column("Policy changes / SKU-loc", COUNT, 2, targets.POLICY_CHANGES_PER_SKU_LOCATION),
    ),
]


def _location_query(metric: str, matchers: str = q.IN_WINDOW) -> Query:
    return Query(f"sum by (location) ({metric}{matchers})", table=True)


def _locations() -> Section:
    scorecard = [
        (_location_query("inventory_value_dollars", q.AT), Column("Value", DOLLARS, 0)),
        (
            _location_query("inventory_excess_obsolete_ratio", q.AT),  # point in time, no window
            Column("E&O", RATIO, 1, targets.EXCESS_OBSOLETE),
        ),
        *((_location_query(metric), column) for metric, column in SCORECARD),
    ]
    return (
        "Locations",
        [
            table(
                "Location scorecard",
                "Every KPI as the monitor computes it per location for the selected window "
                "(the per-location gauges of docs/METRICS.md), coloured against targets.",
                [query for query, _ in scorecard],
                [column for _, column in scorecard],
                sort_by="Fill rate",
                width=24,
                height=10,
            ),
            shared.fill_rate_by_location(
                "Σ units shipped ÷ Σ units ordered per location, orders due in the window."
            ),
            bar_gauge(
                "Working capital at risk by location (top 10)",
                "Current value of volatile or disrupted SKU-locations, the ten largest locations.",
                [
                    Query(
                        f"topk(10, {q.total(AT_RISK, labels='location')})",
                        "{{location}}",
                    )
                ],
                unit=DOLLARS,
                decimals=0,
            ),
        ],
    )


def _cost_to_service() -> Section:
    value = (
        Query(
            f"sum by (location, period) (inventory_cost_to_service_average_value_dollars{q.AT})",
            table=True,
        ),
        Column("Average inventory value", DOLLARS, 0),
    )
    fill = (
        Query(
            f"sum by (location, period) (inventory_cost_to_service_fill_rate_ratio{q.AT})",
            table=True,
        ),
        Column("Fill rate", RATIO, 1, targets.FILL_RATE),
    )
    return (
        "Cost-to-service curve",
        [
            xy_chart(
                "Cost-to-service curve",
                "One point per complete day (period) and location: average inventory value of "
                "the day (x) against the fill rate of orders due that day (y). Select one "
                "location to read its curve.",
                value,
                fill,
                width=10,
            ),
            table(
                "Cost-to-service points",
                "The curve's points: per location and complete day, average inventory value "
                "and fill rate of the orders promised that day.",
                [value[0], fill[0]],
                [value[1], fill[1]],
                sort_by="period",
                descending=True,
                width=8,
                height=9,
            ),
            bar_gauge(
                "Cost-to-service slope by location",
                "Δ fill rate ÷ Δ average inventory value ($1M) between the last two complete "
                "days that both have a fill rate; > 0 means added stock bought service.",
                [Query(f"inventory_cost_to_service_slope{q.IN_WINDOW}", "{{location}}")],
                unit=PER_MILLION,
                decimals=3,
                width=6,
                height=9,
            ),
        ],
    )


def _at_risk() -> Section:
    return (
        "At-risk SKU-locations",
        [
            shared.stocked_out_now(
                "SKU-locations whose on hand is 0 now, Σ over the selected locations.", width=8
            ),
            shared.projected_stockouts(
                "Projected to stock out",
                "SKU-locations whose projected stockout time falls inside the replenishment lead "
                "time, Σ over the selected locations.",
                width=8,
            ),
            stat(
                "SKU-locations known",
                "SKU-locations seen in any inventory event at the selected locations.",
                [Query(q.total("inventory_sku_locations", q.AT), "SKU-locations")],
                unit=COUNT,
                decimals=0,
                width=8,
            ),
            shared.closest_to_stockout(
                "SKU-locations closest to stockout",
                "The 20 SKU-locations with the fewest days of cover ((on hand + in transit) ÷ "
                "expected daily demand) among the exporter's bounded top-N at-risk list.",
                20,
                height=10,
            ),
            bar_gauge(
                "Projected stockouts by location",
                "SKU-locations per location whose projected stockout falls inside the lead time.",
                [
                    Query(
                        q.total("inventory_projected_stockout_sku_locations", q.AT, "location"),
                        "{{location}}",
                    )
                ],
                unit=COUNT,
                decimals=0,
                target=targets.PROJECTED_STOCKOUTS,
                width=12,
                height=10,
            ),
        ],
    )


def _per_hour(metric: str, labels: str = "location") -> str:
    aggregate = f"sum by ({labels}) " if labels else "sum"
    return f"{aggregate}(rate({metric}{q.AT}{q.RATE})) * 3600"


def _stockouts_and_expedites() -> Section:
    return (
        "Stockouts and expedites",
        [
            timeseries(
                "Stockout events in window by location",
                "Stockout episodes started in the KPI window, per location.",
                [Query(q.total("inventory_stockout_events", labels="location"), "{{location}}")],
                unit=COUNT,
                decimals=0,
                target=targets.STOCKOUT_EVENTS,
            ),
            timeseries(
                "Stockouts started per hour by location",
                "Rate of new stockout episodes (counter inventory_stockouts_total) per hour of "
                "processing time, per location.",
                [Query(_per_hour("inventory_stockouts_total"), "{{location}}")],
                unit=PER_HOUR,
                decimals=1,
            ),
            timeseries(
                "Expedite cost % of sales by location",
                "Σ expedite premium ÷ Σ sales per location, dispatches in the window.",
                [Query(q.expedite_share("location"), "{{location}}")],
                unit=RATIO,
                decimals=2,
                target=targets.EXPEDITE_SHARE,
            ),
            timeseries(
                "Expedite spend per hour by location",
                "Expedite premium paid per hour of processing time (counter "
                "inventory_expedite_cost_dollars_total), per location.",
                [Query(_per_hour("inventory_expedite_cost_dollars_total"), "{{location}}")],
                unit=DOLLARS,
                decimals=0,
            ),
            timeseries(
                "Units ordered and shipped per hour",
                "Units on new order lines and units dispatched per hour of processing time "
                "(counters), Σ over the selected locations.",
                [
                    Query(_per_hour("inventory_units_ordered_total", labels=""), "ordered"),
                    Query(_per_hour("inventory_units_shipped_total", labels=""), "shipped"),
                ],
                unit=PER_HOUR,
                decimals=0,
            ),
            timeseries(
                "Sales and COGS per hour",
                "Sales (shipped quantity * unit price) and cost of goods shipped per hour of "
                "processing time (counters), Σ over the selected locations; expedite share on "
                "the right axis.",
                [
                    Query(_per_hour("inventory_sales_dollars_total", labels=""), "sales"),
                    Query(_per_hour("inventory_cogs_dollars_total", labels=""), "COGS"),
                    Query(q.expedite_share(), "expedite % (window)"),
                ],
                unit=DOLLARS,
                decimals=0,
                overrides=[right_axis("expedite % (window)", RATIO, 2)],
            ),
        ],
    )


def build() -> dict[str, Any]:
    """The operations drill-down board."""
    return board(
        uid=UID,
        title="Inventory KPIs — Operations",
        description="Drill-down by location, region, channel and customer tier: service "
        "variability, cost-to-service curve, at-risk SKU-locations, stockouts and expedites.",
        tags=["operations"],
        variables=[
            variables.window(),
            variables.location(),
            variables.region(),
            variables.channel(),
            variables.customer_tier(),
        ],
        sections=[
            _service(),
            _locations(),
            _cost_to_service(),
            _at_risk(),
            _stockouts_and_expedites(),
        ],
        time_from="now-24h",
        refresh="30s",
    )
