"""On-call: active alerts, stockouts now and projected, disruptions and what they put at risk."""

from __future__ import annotations

from typing import Any

from dashboards import promql as q
from dashboards import shared, targets, variables
from dashboards.layout import Section, board
from dashboards.panels import (
    COUNT,
    DOLLARS,
    PER_HOUR,
    RATIO,
    Column,
    Query,
    bar_gauge,
    stat,
    table,
    timeseries,
)

UID = "kpimon-oncall"

FIRING = 'ALERTS{alertstate="firing"}'
# One row per firing alert, or a single "(none firing)" row so the table is never blank.
ACTIVE_ALERTS = (
    f"sum by (alertname, severity, job) ({FIRING})"
    ' or on() label_replace(vector(0), "alertname", "(none firing)", "", "")'
)


def _events(event_type: str) -> str:
    return f'sum(kpimon_events_total{{event_type="{event_type}"}})'


OPEN_DISRUPTIONS = (
    f"clamp_min(({_events('disruption.reported')} or vector(0))"
    f" - ({_events('disruption.resolved')} or vector(0)), 0)"
)


def _alerts() -> Section:
    return (
        "Active alerts",
        [
            stat(
                "Monitor alerts firing",
                "Prometheus alerting rules for the monitor itself (consumer lag, DLQ rate, "
                "exporter down, stale KPIs) currently firing: count of ALERTS{alertstate=firing}.",
                [Query(q.or_zero(f"count({FIRING})"), "firing")],
                unit=COUNT,
                decimals=0,
                target=targets.FIRING_ALERTS,
                width=4,
            ),
            shared.stocked_out_now(
                "SKU-locations with nothing on hand now (the Stockout alert's condition), Σ "
                "over the selected locations.",
                width=4,
            ),
            shared.projected_stockouts(
                "Projected stockouts",
                "SKU-locations whose projected stockout time falls inside the replenishment lead "
                "time (the Projected stockout alert's condition).",
                width=4,
            ),
            stat(
                "Open disruptions",
                "Disruptions reported minus disruptions resolved (valid disruption events "
                "processed since the monitor's state began), never below 0.",
                [Query(OPEN_DISRUPTIONS, "open")],
                unit=COUNT,
                decimals=0,
                width=4,
            ),
            shared.working_capital_at_risk(
                "Σ current value of SKU-locations exposed to demand or lead-time volatility or "
                "covered by an active disruption."
            ),
            shared.fill_rate(
                "Σ units shipped ÷ Σ units ordered, orders due in the window (the service alert "
                "fires below target).",
                width=4,
            ),
            table(
                "Firing monitor alerts",
                "Prometheus alerts in state firing, by rule and severity (one '(none firing)' "
                "row when all is quiet). Inventory alerts (stockout, expedite, disruption…) "
                "page through Alertmanager; their deliveries are counted below.",
                [Query(ACTIVE_ALERTS, table=True)],
                [Column("Alerts", COUNT, 0)],
                sort_by="alertname",
                hide=("Time",),
                width=12,
                height=7,
            ),
            timeseries(
                "Inventory alert notifications per hour",
                "Alert notifications sent by the monitor per hour, by channel (Alertmanager, "
                "webhook, Kafka) and outcome (counter kpimon_alerts_sent_total).",
                [
                    Query(
                        "sum by (channel, outcome) "
                        f"(rate(kpimon_alerts_sent_total{q.RATE})) * 3600",
                        "{{channel}} {{outcome}}",
                    )
                ],
                unit=PER_HOUR,
                decimals=1,
                height=7,
            ),
        ],
    )


def _stockouts() -> Section:
    return (
        "Stockouts now and projected",
        [
            timeseries(
                "Stocked out and projected by location",
                "Per location: SKU-locations stocked out now, and those projected to stock out "
                "within their lead time.",
                [
                    Query(
                        q.total("inventory_stocked_out_sku_locations", q.AT, "location"),
                        "{{location}} stocked out",
                    ),
                    Query(
                        q.total("inventory_projected_stockout_sku_locations", q.AT, "location"),
                        "{{location}} projected",
                    ),
                ],
                unit=COUNT,
                decimals=0,
                target=targets.STOCKED_OUT_NOW,
            ),
            shared.closest_to_stockout(
                "Next to stock out",
                "The 15 SKU-locations with the fewest days of cover ((on hand + in transit) ÷ "
                "expected daily demand): where the next stockout page will come from.",
                15,
            ),
            shared.fill_rate_by_location(
                "Σ units shipped ÷ Σ units ordered per location, orders due in the window; red "
                "bars are below the alerting band."
            ),
            bar_gauge(
                "OTIF by location",
                "Orders on time in full ÷ orders due per location, in the window.",
                [Query(q.otif(labels="location"), "{{location}}")],
                unit=RATIO,
                decimals=1,
                target=targets.OTIF,
                min_value=0,
                max_value=1,
            ),
        ],
    )


def _disruptions() -> Section:
    return (
        "Disruptions and exposure",
        [
            shared.awaiting_replan(
                "Active disruptions that no policy change has answered yet, one per "
                "(disruption, location) it covers, Σ over the selected locations. Time-to-replan "
                "only measures disruptions that were replanned: this is where the others show.",
            ),
            shared.oldest_unreplanned(
                "How long the oldest disruption still awaiting a replan has been open: the "
                "location's watermark (event time) minus its occurred_at; 0 when none waits.",
            ),
            timeseries(
                "Disruptions awaiting a replan by location",
                "Active disruptions covering each location with no policy applied for a "
                "SKU-location they cover since they were reported.",
                [
                    Query(
                        q.total("inventory_disruptions_awaiting_replan", q.AT, "location"),
                        "{{location}}",
                    )
                ],
                unit=COUNT,
                decimals=0,
                target=targets.AWAITING_REPLAN,
                width=8,
            ),
            shared.time_to_replan(
                "Time-to-replan p50",
                "Median time from a disruption's occurred_at to the first policy.applied for a "
                "SKU-location it covers while it is active, over every disruption replanned at "
                "the selected locations.",
                0.5,
                "p50",
            ),
            shared.time_to_replan(
                "Time-to-replan p90",
                "90th percentile of time-to-replan over every disruption seen at the selected "
                "locations (histogram inventory_time_to_replan_seconds).",
                0.9,
                "p90",
            ),
            stat(
                "Disruptions replanned",
                "(disruption, location) pairs that have been replanned (observations of the "
                "time-to-replan histogram).",
                [
                    Query(
                        q.or_zero(q.total("inventory_time_to_replan_seconds_count", q.AT)),
                        "replanned",
                    )
                ],
                unit=COUNT,
                decimals=0,
                width=8,
            ),
            timeseries(
                "Working capital at risk by location",
                "Current value of SKU-locations that are volatile or covered by an active "
                "disruption, per location; a step up usually means a disruption was reported.",
                [
                    Query(
                        q.total("inventory_working_capital_at_risk_dollars", labels="location"),
                        "{{location}}",
                    )
                ],
                unit=DOLLARS,
                decimals=0,
                stacked=True,
            ),
            timeseries(
                "Working capital at risk % of value",
                "Σ working capital at risk ÷ Σ current inventory value over the selected "
                "locations.",
                [Query(q.working_capital_at_risk_share(), "share at risk")],
                unit=RATIO,
                decimals=1,
                target=targets.WORKING_CAPITAL_AT_RISK_SHARE,
            ),
            timeseries(
                "Disruptions reported and resolved per hour",
                "Valid disruption.reported and disruption.resolved events processed per hour "
                "(counter kpimon_events_total on the disruptions topic).",
                [
                    Query(
                        "sum by (event_type) (rate(kpimon_events_total"
                        f'{{event_type=~"disruption[.].*"}}{q.RATE})) * 3600',
                        "{{event_type}}",
                    )
                ],
                unit=PER_HOUR,
                decimals=1,
            ),
            shared.time_to_replan_by_location("Time-to-replan median by location (window)"),
        ],
    )


def build() -> dict[str, Any]:
    """The on-call board."""
    return board(
        uid=UID,
        title="Inventory KPIs — On-call",
        description="What is paging and what is about to: firing monitor alerts, stockouts now "
        "and projected, disruptions and the working capital they put at risk.",
        tags=["oncall"],
        variables=[variables.window(), variables.location()],
        sections=[_alerts(), _stockouts(), _disruptions()],
        time_from="now-6h",
        refresh="15s",
    )
