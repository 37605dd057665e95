"""The executive board's answer rows, which lead it: "is adaptive planning working?" (SPEC §4.3).

Leaders open the board for that question, so it is answered before any KPI family: the
four executive insights per location, each KPI family this window against its prior
window (network-wide, see `executive_network`, then per location, coloured by which way
is better), and SKU-locations that follow the model against those a planner set.
`executive` places `sections()` first on the board.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from grafana_foundation_sdk.models import dashboard as dashboard_model

from dashboards import promql as q
from dashboards import targets
from dashboards.executive_network import (
    NETWORK,
    NETWORK_RISK,
    NETWORK_SERVICE,
    NETWORK_WORKING_CAPITAL,
    PRIOR,
    NetworkKpi,
    network_stat,
)
from dashboards.layout import PanelBuilder, Section
from dashboards.panels import (
    COUNT,
    DAYS,
    DOLLARS,
    GREEN,
    GREY,
    PER_YEAR,
    RATIO,
    RED,
    Column,
    Query,
    bar_gauge,
    change_thresholds,
    stat,
    state_timeline,
    table,
    timeseries,
    value_mappings,
)
from dashboards.targets import Direction

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


def _this_period_vs_prior(
    family: str, kpis: Sequence[PeriodKpi], network: Sequence[NetworkKpi]
) -> Section:
    """A family's headline KPIs network-wide, this window against the prior one; then its KPIs
    per location, this window and the prior one, and their change."""
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
            *(network_stat(kpi, 24 // len(network)) for kpi in network),
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


def sections() -> list[Section]:
    """The answer rows in board order: insights, each family against its prior window, cohorts."""
    return [
        _insights(),
        _this_period_vs_prior("Working capital", WORKING_CAPITAL_KPIS, NETWORK_WORKING_CAPITAL),
        _this_period_vs_prior("Service", SERVICE_KPIS, NETWORK_SERVICE),
        _this_period_vs_prior("Risk", RISK_KPIS, NETWORK_RISK),
        _cohorts(),
    ]
