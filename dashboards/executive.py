"""Executive overview: the leaders' answer first, then the five KPI families with trend and target.

The board leads with SPEC §4.3's question, "is adaptive planning working?": the four
executive insights per location, each KPI family this period against its prior window,
and SKU-locations that follow the model against those a planner set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from grafana_foundation_sdk.models import dashboard as dashboard_model

from dashboards import promql as q
from dashboards import shared, targets, variables
from dashboards.layout import PanelBuilder, Section, board
from dashboards.panels import (
    COUNT,
    DAYS,
    DOLLARS,
    GREEN,
    GREY,
    PER_MILLION,
    PER_YEAR,
    RATIO,
    RED,
    Column,
    Query,
    bar_gauge,
    change_thresholds,
    right_axis,
    stat,
    state_timeline,
    table,
    timeseries,
    value_mappings,
)
from dashboards.targets import Direction

UID = "kpimon-executive"
NETWORK = "Network-wide over the selected locations and KPI window"
PRIOR = (
    "The prior window is the same number of whole buckets just before the window's first "
    "bucket; a location gets one once its data began by the prior window's first bucket."
)

# inventory_insight: 1 holds, 0 neutral, -1 violated (SPEC §4.3).
INSIGHT_STATES = value_mappings(
    {"1": ("holds", GREEN), "0": ("neutral", GREY), "-1": ("violated", RED)}
)
# (insight label value, panel title, the seed's sentence it encodes, its rule).
INSIGHTS: tuple[tuple[str, str, str, str], ...] = (
    (
        "turns_without_stockouts",
        "Turns up without more stockouts",
        "AI should improve turns and reduce DIO without increasing stockout rates",
        "holds when turns rose and stockout events did not; violated when turns rose together "
        "with stockout events; neutral when turns did not rise",
    ),
    (
        "service_without_inventory",
        "Service up without more inventory",
        "higher service levels without uniform inventory increases",
        "holds when fill rate rose and average inventory value rose by at most the inventory "
        "tolerance (2 %); violated when fill rate rose only with more inventory; neutral when "
        "fill rate did not rise",
    ),
    (
        "fewer_surprises",
        "Fewer surprises",
        "fewer surprises and less firefighting",
        "holds when none of stockout events, expedite cost % of sales and WAPE rose and at "
        "least one fell; violated when two or more rose; neutral otherwise",
    ),
    (
        "simultaneous_improvement",
        "Simultaneous improvement",
        "optimized trade-offs, not single-metric optimization: simultaneous improvement across "
        "working capital, service and risk",
        "holds when working capital (turns up or DIO down), service (fill rate up) and risk "
        "(stockout events down; working capital at risk has no prior window) all improved; "
        "violated when any of them got worse; neutral otherwise",
    ),
)
MOVES = (
    "Up or down means a change beyond 1 % of the prior value (from a prior of 0, any "
    "positive value is up); a location without a prior window has no insight (no data)."
)


def _insight(name: str, title: str, sentence: str, rule: str) -> PanelBuilder:
    matchers = q.selector(q.LOCATION, q.WINDOW, f'insight="{name}"')
    return stat(
        title,
        f'"{sentence}" — {rule}, this window against its prior window, per location. {MOVES}',
        [Query(f"inventory_insight{matchers}", "{{location}}")],
        unit=COUNT,
        decimals=0,
        mappings=INSIGHT_STATES,
        sparkline=False,
        width=6,
        height=6,
    )


def _insights() -> Section:
    return (
        "Is adaptive planning working? Executive insights",
        [
            *(_insight(*insight) for insight in INSIGHTS),
            state_timeline(
                "Insights over time",
                "The four insight signals per location over the board's time range: green "
                "holds, grey neutral, red violated, gaps where a location had no prior window. "
                + MOVES,
                [Query(f"inventory_insight{q.IN_WINDOW}", "{{location}} {{insight}}")],
                unit=COUNT,
                mappings=INSIGHT_STATES,
            ),
        ],
    )


@dataclass(frozen=True, slots=True)
class PeriodKpi:
    """A windowed KPI compared with its prior window: its `kpi` label value, the gauge of the
    current window, its column and which way is better."""

    kpi: str
    metric: str
    column: Column
    better: Direction


def _this_period_vs_prior(family: str, kpis: Sequence[PeriodKpi]) -> Section:
    """A family's KPIs per location, this window and the prior one, and their change."""
    levels = [
        item
        for kpi in kpis
        for item in (
            (Query(q.total(kpi.metric, labels="location"), table=True), kpi.column),
            (
                Query(q.prior(kpi.kpi), table=True),
                replace(kpi.column, name=f"{kpi.column.name} prior"),
            ),
        )
    ]
    names = ", ".join(kpi.column.name for kpi in kpis)
    change = stat(
        f"{family}: change on the prior window",
        f"(this window - prior window) ÷ |prior window| of {names}, per location "
        "(inventory_kpi_change_ratio). Green: moved the better way by more than 1 %; red: "
        "moved the worse way; grey: unchanged. Absent where the prior value is 0. " + PRIOR,
        [Query(q.change_ratio(*(kpi.kpi for kpi in kpis)), "{{location}} {{kpi}}")],
        unit=RATIO,
        decimals=1,
        sparkline=False,
        width=12,
        height=8,
    )
    default = kpis[0].better
    change.thresholds(change_thresholds(default, targets.INSIGHT_NOISE))
    others = [kpi.kpi for kpi in kpis if kpi.better != default]
    if others:
        change.override_by_regexp(
            f".*({'|'.join(others)}).*",
            [
                dashboard_model.DynamicConfigValue(
                    id_val="thresholds",
                    value=change_thresholds(
                        "lower" if default == "higher" else "higher", targets.INSIGHT_NOISE
                    ).build(),
                )
            ],
        )
    return (
        f"{family}: this period vs prior",
        [
            table(
                f"{family} by location: this window and the prior window",
                f"{names} per location over the selected window (the location's own gauges) "
                "and over its prior window (inventory_kpi_prior), coloured against targets. "
                + PRIOR,
                [query for query, _ in levels],
                [column for _, column in levels],
                width=12,
                height=8,
            ),
            change,
        ],
    )


WORKING_CAPITAL_KPIS = (
    PeriodKpi(
        "turns",
        "inventory_turns_annualized",
        Column("Turns", PER_YEAR, 1, targets.TURNS),
        "higher",
    ),
    PeriodKpi(
        "days_inventory_outstanding",
        "inventory_days_inventory_outstanding_days",
        Column("DIO", DAYS, 1, targets.DIO_DAYS),
        "lower",
    ),
    PeriodKpi(
        "average_inventory_value",
        "inventory_average_value_dollars",
        Column("Average value", DOLLARS, 0),
        "lower",
    ),
)
SERVICE_KPIS = (
    PeriodKpi(
        "fill_rate",
        "inventory_fill_rate_ratio",
        Column("Fill rate", RATIO, 1, targets.FILL_RATE),
        "higher",
    ),
    PeriodKpi("otif", "inventory_otif_ratio", Column("OTIF", RATIO, 1, targets.OTIF), "higher"),
)
RISK_KPIS = (
    PeriodKpi(
        "stockout_events",
        "inventory_stockout_events",
        Column("Stockout events", COUNT, 0, targets.STOCKOUT_EVENTS),
        "lower",
    ),
    PeriodKpi(
        "expedite_cost_sales",
        "inventory_expedite_cost_sales_ratio",
        Column("Expedite %", RATIO, 2, targets.EXPEDITE_SHARE),
        "lower",
    ),
    PeriodKpi(
        "forecast_wape",
        "inventory_forecast_wape_ratio",
        Column("WAPE", RATIO, 1, targets.WAPE),
        "lower",
    ),
)

COHORTS = (
    "policy_source: model = the SKU-location's policy in force came from a policy.applied "
    "naming a recommendation that was not overridden; planner = any other applied policy "
    "(an override, or one naming no recommendation); none = no policy applied yet. A fact "
    "counts in the cohort of the policy in force at its event time"
)


def _cohorts() -> Section:
    fill, turns = q.cohort_fill_rate(), q.cohort_turns()
    return (
        "Model vs planner policies",
        [
            bar_gauge(
                "Fill rate by policy source",
                "Σ units shipped (capped per line) ÷ Σ units ordered of the order lines placed "
                f"under each policy source, orders due in the window. {COHORTS}. " + NETWORK + ".",
                [Query(fill, "{{policy_source}}")],
                unit=RATIO,
                decimals=1,
                target=targets.FILL_RATE,
                width=8,
                min_value=0,
                max_value=1,
            ),
            bar_gauge(
                "Turns by policy source",
                "Σ COGS * 365 ÷ covered days (per location) ÷ Σ time-weighted average inventory "
                f"value of the SKU-locations under each policy source. {COHORTS}. " + NETWORK + ".",
                [Query(turns, "{{policy_source}}")],
                unit=PER_YEAR,
                decimals=1,
                target=targets.TURNS,
                unit_word="/yr",
                width=8,
                min_value=0,
            ),
            table(
                "Cohort sizes",
                "How much each policy source weighs, Σ over the selected locations for the "
                "window: units ordered and shipped (fill rate's denominator and numerator), "
                "COGS and average inventory value (turns' numerator and denominator).",
                [
                    Query(q.total(metric, labels="policy_source"), table=True)
                    for metric in (
                        "inventory_cohort_units_ordered",
                        "inventory_cohort_units_shipped",
                        "inventory_cohort_cogs_dollars",
                        "inventory_cohort_average_value_dollars",
                    )
                ],
                [
                    Column("Units ordered", COUNT, 0),
                    Column("Units shipped", COUNT, 0),
                    Column("COGS", DOLLARS, 0),
                    Column("Average value", DOLLARS, 0),
                ],
                sort_by="Units ordered",
                descending=True,
                width=8,
            ),
            timeseries(
                "Fill rate by policy source over time",
                "Fill rate of each policy source's order lines over time (Σ shipped ÷ Σ "
                "ordered); dashed lines mark the fill-rate target bands.",
                [Query(fill, "{{policy_source}}")],
                unit=RATIO,
                decimals=1,
                target=targets.FILL_RATE,
                max_value=1,
            ),
            timeseries(
                "Turns by policy source over time",
                "Annualised turns of each policy source's SKU-locations over time; dashed lines "
                "mark the turns target bands.",
                [Query(turns, "{{policy_source}}")],
                unit=PER_YEAR,
                decimals=1,
                target=targets.TURNS,
                unit_word="/yr",
            ),
        ],
    )


def _working_capital() -> Section:
    return (
        "Working capital",
        [
            stat(
                "Inventory turns",
                "Annualised turns: Σ COGS of dispatches in the window * 365 ÷ covered days "
                "(per location), ÷ Σ time-weighted average inventory value. " + NETWORK + ".",
                [Query(q.turns(), "turns")],
                unit=PER_YEAR,
                decimals=1,
                target=targets.TURNS,
                unit_word="/yr",
            ),
            stat(
                "Days inventory outstanding",
                "DIO = 365 ÷ annualised turns = average inventory value ÷ COGS * window days. "
                + NETWORK
                + ".",
                [Query(q.days_inventory_outstanding(), "DIO")],
                unit=DAYS,
                decimals=1,
                target=targets.DIO_DAYS,
                unit_word=" d",
            ),
            stat(
                "Excess & obsolete",
                "Σ value of excess stock (on hand above 90 days of the uncertainty model's "
                "expected daily demand) and obsolete stock (no demand for 90 days) ÷ Σ current "
                "inventory value: one point-in-time figure, the same for every window.",
                [Query(shared.EXCESS_OBSOLETE, "E&O")],
                unit=RATIO,
                decimals=1,
                target=targets.EXCESS_OBSOLETE,
            ),
            stat(
                "Inventory value",
                "Current Σ on_hand * unit_cost over the selected locations.",
                [Query(q.total("inventory_value_dollars", q.AT), "value")],
                unit=DOLLARS,
                decimals=0,
            ),
            stat(
                "Average inventory value",
                "Σ time-weighted average inventory value over the covered KPI window.",
                [Query(q.total("inventory_average_value_dollars"), "average")],
                unit=DOLLARS,
                decimals=0,
            ),
            shared.working_capital_at_risk(
                "Σ current value of SKU-locations exposed to demand volatility (CV above "
                "threshold), supplier lead-time volatility or an active disruption."
            ),
            timeseries(
                "Turns and DIO trend",
                "Network annualised turns (left axis) and days inventory outstanding (right "
                "axis) over time; dashed lines mark the turns target bands.",
                [
                    Query(q.turns(), "turns /yr"),
                    Query(q.days_inventory_outstanding(), "DIO days"),
                ],
                unit=PER_YEAR,
                decimals=1,
                target=targets.TURNS,
                unit_word="/yr",
                overrides=[right_axis("DIO days", DAYS, 1)],
            ),
            timeseries(
                "Inventory value, average value and value at risk",
                "Current inventory value, time-weighted average value over the window, and "
                "working capital at risk, Σ over the selected locations.",
                [
                    Query(q.total("inventory_value_dollars", q.AT), "current value"),
                    Query(q.total("inventory_average_value_dollars"), "average value (window)"),
                    Query(q.total("inventory_working_capital_at_risk_dollars"), "at risk"),
                ],
                unit=DOLLARS,
                decimals=0,
            ),
        ],
    )


def _service() -> Section:
    return (
        "Service",
        [
            shared.fill_rate(
                "Σ units shipped (capped at the ordered quantity per line) ÷ Σ units ordered, "
                "over orders due (promised) in the window, cancelled orders excluded. "
                + NETWORK
                + ".",
                width=8,
            ),
            stat(
                "Order line fill rate",
                "Order lines shipped in full ÷ order lines, over orders due in the window.",
                [Query(q.line_fill_rate(), "line fill")],
                unit=RATIO,
                decimals=1,
                target=targets.LINE_FILL_RATE,
                width=8,
            ),
            stat(
                "OTIF",
                "Orders whose every line was delivered in full at or before promised_at ÷ "
                "orders due in the window.",
                [Query(q.otif(), "OTIF")],
                unit=RATIO,
                decimals=1,
                target=targets.OTIF,
                width=8,
            ),
            timeseries(
                "Service trend",
                "Network fill rate, line fill rate and OTIF over time (Σ numerator ÷ Σ "
                "denominator); dashed lines mark the fill-rate target bands.",
                [
                    Query(q.fill_rate(), "fill rate"),
                    Query(q.line_fill_rate(), "line fill"),
                    Query(q.otif(), "OTIF"),
                ],
                unit=RATIO,
                decimals=1,
                target=targets.FILL_RATE,
                width=24,
                max_value=1,
            ),
        ],
    )


def _risk() -> Section:
    return (
        "Operational risk",
        [
            stat(
                "Stockout events",
                "Stockout episodes started in the window (on hand reached 0, or an order line "
                "arrived with nothing on hand), Σ over the selected locations.",
                [Query(q.total("inventory_stockout_events"), "stockouts")],
                unit=COUNT,
                decimals=0,
                target=targets.STOCKOUT_EVENTS,
                width=6,
            ),
            stat(
                "Forecast WAPE",
                "Σ |actual - forecast| ÷ Σ actual over forecast periods closed in the window.",
                [Query(shared.WAPE, "WAPE")],
                unit=RATIO,
                decimals=1,
                target=targets.WAPE,
                width=6,
            ),
            stat(
                "Forecast MAPE",
                "Mean of |actual - forecast| ÷ actual over closed periods with actual > 0 "
                "(Σ APE ÷ number of periods).",
                [Query(shared.MAPE, "MAPE")],
                unit=RATIO,
                decimals=1,
                target=targets.MAPE,
                width=6,
            ),
            stat(
                "Expedite cost % of sales",
                "Σ expedite premium ÷ Σ sales (shipped quantity * unit price), dispatches in "
                "the window.",
                [Query(q.expedite_share(), "expedite %")],
                unit=RATIO,
                decimals=2,
                target=targets.EXPEDITE_SHARE,
                width=6,
            ),
            timeseries(
                "Stockouts trend",
                "Stockout episodes started in the window and SKU-locations stocked out now, Σ "
                "over the selected locations.",
                [
                    Query(q.total("inventory_stockout_events"), "stockout events (window)"),
                    Query(
                        q.total("inventory_stocked_out_sku_locations", q.AT),
                        "stocked out now",
                    ),
                ],
                unit=COUNT,
                decimals=0,
                target=targets.STOCKOUT_EVENTS,
            ),
            timeseries(
                "Forecast error and expedites trend",
                "WAPE, MAPE and expedite cost % of sales over time (network-wide ratios).",
                [
                    Query(shared.WAPE, "WAPE"),
                    Query(shared.MAPE, "MAPE"),
                    Query(q.expedite_share(), "expedite % of sales"),
                ],
                unit=RATIO,
                decimals=1,
                target=targets.WAPE,
            ),
        ],
    )


def _trade_offs() -> Section:
    service_per_million = (
        f"({q.fill_rate()}) / ({q.total('inventory_average_value_dollars')} / 1e6)"
    )
    return (
        "Trade-offs",
        [
            stat(
                "Service per $1M of inventory",
                "Network fill rate ÷ (Σ average inventory value ÷ $1M). No absolute target: "
                "rising means the same stock buys more service.",
                [Query(service_per_million, "service per $1M")],
                unit=PER_MILLION,
                decimals=3,
                width=6,
            ),
            stat(
                "Cost-to-service slope (median)",
                "Median over the selected locations of Δ fill rate ÷ Δ average inventory value "
                "($1M) between the last two complete days; > 0 means added stock bought service.",
                [Query(f"quantile(0.5, inventory_cost_to_service_slope{q.IN_WINDOW})", "slope")],
                unit=PER_MILLION,
                decimals=3,
                width=6,
            ),
            shared.working_capital_at_risk(
                "Σ current value of volatile or disrupted SKU-locations.", width=6
            ),
            stat(
                "Working capital at risk % of value",
                "Σ working capital at risk ÷ Σ current inventory value.",
                [Query(q.working_capital_at_risk_share(), "share at risk")],
                unit=RATIO,
                decimals=1,
                target=targets.WORKING_CAPITAL_AT_RISK_SHARE,
                width=6,
            ),
            timeseries(
                "Service per $1M and working capital at risk share",
                "Fill rate per $1M of average inventory (left axis) and the share of inventory "
                "value at risk (right axis), over time.",
                [
                    Query(service_per_million, "service per $1M"),
                    Query(q.working_capital_at_risk_share(), "share at risk"),
                ],
                unit=PER_MILLION,
                decimals=3,
                width=24,
                overrides=[right_axis("share at risk", RATIO, 1)],
            ),
        ],
    )


def _planning() -> Section:
    return (
        "Planning system trust",
        [
            stat(
                "Policy changes per SKU-location",
                "Σ policy.applied events in the window ÷ Σ SKU-locations known (seen in any "
                "inventory event) — lower means stabler policies.",
                [Query(shared.POLICY_CHANGES_PER_SKU_LOCATION, "changes per SKU-location")],
                unit=COUNT,
                decimals=2,
                target=targets.POLICY_CHANGES_PER_SKU_LOCATION,
                width=8,
            ),
            stat(
                "Planner override rate",
                "Σ recommendations of the window overridden (matched by recommendation_id) ÷ "
                "Σ recommendations of the window (0 to 1).",
                [Query(shared.OVERRIDE_RATE, "override rate")],
                unit=RATIO,
                decimals=1,
                target=targets.OVERRIDE_RATE,
                width=8,
            ),
            shared.time_to_replan(
                "Time-to-replan, median",
                "Median time from a disruption's occurred_at to the first policy.applied for a "
                "SKU-location it covers while it is active, over every disruption replanned "
                "(from the histogram); read it with the disruptions still awaiting a replan.",
                0.5,
                "median",
            ),
            shared.awaiting_replan(
                "Active disruptions not replanned yet, one per (disruption, location) it covers, "
                "Σ over the selected locations: a silent planning system shows here, not as a "
                "fast median.",
                width=12,
            ),
            timeseries(
                "Override rate and policy changes trend",
                "Planner override rate (left axis, dashed target bands) and policy changes per "
                "SKU-location (right axis) over time.",
                [
                    Query(shared.OVERRIDE_RATE, "override rate"),
                    Query(shared.POLICY_CHANGES_PER_SKU_LOCATION, "changes per SKU-location"),
                ],
                unit=RATIO,
                decimals=1,
                target=targets.OVERRIDE_RATE,
                overrides=[right_axis("changes per SKU-location", COUNT, 2)],
            ),
            shared.time_to_replan_by_location("Time-to-replan median by location"),
            stat(
                "Overrides of unknown recommendations",
                "Planner overrides naming a recommendation_id the monitor never saw at that "
                "location, over the board's time range (counter "
                "inventory_overrides_unmatched_total); they stay out of the override rate.",
                [
                    Query(
                        q.or_zero(
                            f"sum(increase(inventory_overrides_unmatched_total{q.AT}[$__range]))"
                        ),
                        "unmatched",
                    )
                ],
                unit=COUNT,
                decimals=0,
                width=12,
            ),
        ],
    )


def build() -> dict[str, Any]:
    """The executive overview board."""
    return board(
        uid=UID,
        title="Inventory KPIs — Executive overview",
        description="Is adaptive planning working? The executive insights, each KPI family "
        "against its prior window and model vs planner policies first; then working capital, "
        "service, risk, trade-offs and planning-system trust, network-wide, with trend and "
        "target.",
        tags=["executive"],
        variables=[variables.window(), variables.location()],
        sections=[
            _insights(),
            _this_period_vs_prior("Working capital", WORKING_CAPITAL_KPIS),
            _this_period_vs_prior("Service", SERVICE_KPIS),
            _this_period_vs_prior("Risk", RISK_KPIS),
            _cohorts(),
            _working_capital(),
            _service(),
            _risk(),
            _trade_offs(),
            _planning(),
        ],
        time_from="now-7d",
        refresh="1m",
    )
