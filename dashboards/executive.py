"""Executive overview: the leaders' answer first, then the five KPI families with trend and target.

The answer rows (SPEC §4.3's "is adaptive planning working?") are built in
`executive_answer`; this module assembles the board and builds the five family sections —
working capital, service, operational risk, trade-offs and planning-system trust —
network-wide, each with trend and target.
"""

from __future__ import annotations

from typing import Any

from dashboards import executive_answer, shared, targets, variables
from dashboards import promql as q
from dashboards.executive_answer import NETWORK
from dashboards.layout import Section, board
from dashboards.panels import (
    COUNT,
    DAYS,
    DOLLARS,
    PER_MILLION,
    PER_YEAR,
    RATIO,
    Query,
    right_axis,
    stat,
    timeseries,
)

UID = "kpimon-executive"


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
            *executive_answer.sections(),
            _working_capital(),
            _service(),
            _risk(),
            _trade_offs(),
            _planning(),
        ],
        time_from="now-7d",
        refresh="1m",
    )
