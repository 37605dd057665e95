"""Network-wide "this window vs prior window" stats of the executive board's answer rows.

Per SPEC §5 a network-wide value is Σ numerator ÷ Σ denominator over the selected locations:
this window's from the `inventory_window_*` series, the prior window's from the numerators
and denominators `inventory_kpi_prior` serves (docs/METRICS.md). `executive_answer` puts
each family's stats first in its "this period vs prior" row.
"""

from __future__ import annotations

from dataclasses import dataclass

from grafana_foundation_sdk.models import dashboard as dashboard_model

from dashboards import promql as q
from dashboards import targets
from dashboards.layout import PanelBuilder
from dashboards.panels import COUNT, PER_YEAR, RATIO, Query, change_thresholds, stat
from dashboards.targets import Direction, Target

# Ends descriptions of network-wide panels here and in `executive`'s family sections.
NETWORK = "Network-wide over the selected locations and KPI window"
PRIOR = (
    "The prior window is the same number of whole buckets just before the window's first "
    "bucket; a location gets one once its data began by the prior window's first bucket."
)


CHANGE_AS_RATIO = (
    "change (this window - prior window) ÷ |prior window|, coloured green where it moved "
    "the better way by more than 1 %, red the worse way, grey unchanged; absent where the "
    "prior is 0."
)
CHANGE_AS_COUNT = (
    "change: this window - prior window (events more or fewer), green where fewer, red where more."
)


@dataclass(frozen=True, slots=True)
class NetworkKpi:
    """A KPI network-wide this window and over the prior window: its title, definition, the
    two queries (Σ numerator ÷ Σ denominator, or a Σ), unit, target and which way is better."""

    title: str
    definition: str
    current: str
    prior: str
    unit: str
    decimals: int
    target: Target
    better: Direction
    unit_word: str = ""
    # A count's change is shown as a difference (events more or fewer than the prior
    # window): a ratio would be absent whenever the prior window had none.
    count: bool = False


def network_stat(kpi: NetworkKpi, width: int) -> PanelBuilder:
    """One stat: this window, the prior window, and the change coloured by which way is better."""
    panel = stat(
        f"{kpi.title}: this window vs prior",
        f"{kpi.definition}: this window, the prior window (the same Σ of the prior window's "
        "values, inventory_kpi_prior, over the selected locations that have one) and the "
        f"{CHANGE_AS_COUNT if kpi.count else CHANGE_AS_RATIO} {NETWORK}. {PRIOR}",
        [
            Query(kpi.current, "this window"),
            Query(kpi.prior, "prior window"),
            Query(
                f"({kpi.current}) - ({kpi.prior})"
                if kpi.count
                else q.change(kpi.current, kpi.prior),
                "change",
            ),
        ],
        unit=kpi.unit,
        decimals=kpi.decimals,
        target=kpi.target,
        unit_word=kpi.unit_word,
        sparkline=False,
        width=width,
    )
    unit, decimals, noise = (COUNT, 0, 0.5) if kpi.count else (RATIO, 1, targets.INSIGHT_NOISE)
    return panel.override_by_query(
        "C",
        [
            dashboard_model.DynamicConfigValue(id_val="unit", value=unit),
            dashboard_model.DynamicConfigValue(id_val="decimals", value=decimals),
            dashboard_model.DynamicConfigValue(
                id_val="thresholds", value=change_thresholds(kpi.better, noise).build()
            ),
        ],
    )


NETWORK_WORKING_CAPITAL = (
    NetworkKpi(
        "Turns",
        "Σ COGS * 365 ÷ covered days (per location) ÷ Σ average inventory value",
        q.turns(),
        q.prior_turns(),
        PER_YEAR,
        1,
        targets.TURNS,
        "higher",
        "/yr",
    ),
)
NETWORK_SERVICE = (
    NetworkKpi(
        "Fill rate",
        "Σ units shipped (capped per line) ÷ Σ units ordered",
        q.fill_rate(),
        q.prior_ratio("units_shipped", "units_ordered"),
        RATIO,
        1,
        targets.FILL_RATE,
        "higher",
    ),
    NetworkKpi(
        "OTIF",
        "Σ orders on time in full ÷ Σ orders due",
        q.otif(),
        q.prior_ratio("orders_otif", "orders_due"),
        RATIO,
        1,
        targets.OTIF,
        "higher",
    ),
)
NETWORK_RISK = (
    NetworkKpi(
        "Stockout events",
        "Σ stockout episodes started in the window",
        q.total("inventory_stockout_events"),
        q.prior_sum("stockout_events"),
        COUNT,
        0,
        targets.STOCKOUT_EVENTS,
        "lower",
        count=True,
    ),
    NetworkKpi(
        "Expedite % of sales",
        "Σ expedite cost ÷ Σ sales",
        q.expedite_share(),
        q.prior_ratio("expedite_cost", "sales"),
        RATIO,
        2,
        targets.EXPEDITE_SHARE,
        "lower",
    ),
)
