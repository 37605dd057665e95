"""PromQL building blocks shared by the boards.

Network-wide ratios are never averages of per-location ratios: every ratio KPI
is exported with its numerator and denominator (docs/METRICS.md), so a board
computes `sum(numerator) / sum(denominator)` over the selected locations.
Multi-select template variables are matched with `=~` (their "All" value is
`.+`).
"""

from __future__ import annotations

LOCATION = 'location=~"$location"'
WINDOW = 'window="$window"'
REGION = 'region=~"$region"'
CHANNEL = 'channel=~"$channel"'
CUSTOMER_TIER = 'customer_tier=~"$customer_tier"'
TOPIC = 'topic=~"$topic"'
MONITOR_JOBS = 'job=~"kpimon-.*"'

RATE = "[$__rate_interval]"


def selector(*matchers: str) -> str:
    """`{a, b}` from label matchers (empty string when there are none)."""
    return "{" + ", ".join(matchers) + "}" if matchers else ""


# Selectors every board uses: a point-in-time gauge per location, a window KPI.
AT = selector(LOCATION)
IN_WINDOW = selector(LOCATION, WINDOW)
# Service detail, filtered by every service dimension.
SERVICE = selector(LOCATION, WINDOW, REGION, CHANNEL, CUSTOMER_TIER)


def by(labels: str) -> str:
    """` by (labels)` for an aggregation, or nothing for a network-wide total."""
    return f" by ({labels})" if labels else ""


def total(metric: str, matchers: str = IN_WINDOW, labels: str = "") -> str:
    """`sum(metric{matchers})`, optionally grouped."""
    return f"sum{by(labels)}({metric}{matchers})"


def ratio(numerator: str, denominator: str, matchers: str = IN_WINDOW, labels: str = "") -> str:
    """`sum(numerator) / sum(denominator)` over the same selection and grouping."""
    return f"{total(numerator, matchers, labels)} / {total(denominator, matchers, labels)}"


def annualised_cogs(labels: str = "") -> str:
    """COGS of the window scaled to a year by each location's covered days.

    Locations whose covered span is zero are dropped (their turns are absent).
    """
    return (
        f"sum{by(labels)}(inventory_window_cogs_dollars{IN_WINDOW} * 365"
        f" / (inventory_window_covered_days{IN_WINDOW} > 0))"
    )


def turns(labels: str = "") -> str:
    """Annualised inventory turns: annualised COGS ÷ average inventory value."""
    return f"{annualised_cogs(labels)} / {total('inventory_average_value_dollars', labels=labels)}"


def days_inventory_outstanding(labels: str = "") -> str:
    """DIO in days: 365 ÷ annualised turns (= average value ÷ COGS * window days)."""
    return f"365 / ({turns(labels)})"


def fill_rate(matchers: str = IN_WINDOW, labels: str = "") -> str:
    """Units shipped (capped per line) ÷ units ordered, orders due in the window."""
    return ratio(
        "inventory_window_units_shipped", "inventory_window_units_ordered", matchers, labels
    )


def line_fill_rate(matchers: str = IN_WINDOW, labels: str = "") -> str:
    """Lines filled in full ÷ order lines, orders due in the window."""
    return ratio(
        "inventory_window_order_lines_filled", "inventory_window_order_lines", matchers, labels
    )


def otif(matchers: str = IN_WINDOW, labels: str = "") -> str:
    """Orders delivered on time in full ÷ orders due in the window."""
    return ratio("inventory_window_orders_otif", "inventory_window_orders_due", matchers, labels)


def expedite_share(labels: str = "") -> str:
    """Expedite cost ÷ sales, dispatches in the window."""
    return ratio(
        "inventory_window_expedite_cost_dollars", "inventory_window_sales_dollars", labels=labels
    )


def working_capital_at_risk_share(labels: str = "") -> str:
    """Working capital at risk ÷ current inventory value."""
    return (
        f"{total('inventory_working_capital_at_risk_dollars', labels=labels)}"
        f" / {total('inventory_value_dollars', AT, labels)}"
    )


def kpi_matcher(*kpis: str) -> str:
    """`kpi="a"`, or `kpi=~"a|b"` for several, of `inventory_kpi_prior` / `_change_ratio`."""
    return f'kpi="{kpis[0]}"' if len(kpis) == 1 else f'kpi=~"{"|".join(kpis)}"'


def prior(kpi: str, labels: str = "location") -> str:
    """A KPI over the prior window (the same number of whole buckets just before the window),
    per location: prior ratio KPIs are ratios of the location, so they are not summed across
    it; network-wide priors sum numerators and denominators (`prior_sum`, `prior_ratio`)."""
    return total("inventory_kpi_prior", selector(LOCATION, WINDOW, kpi_matcher(kpi)), labels)


def prior_sum(kpi: str) -> str:
    """Σ over the selected locations of a prior-window numerator, denominator or count
    (`kpi` such as units_shipped or stockout_events; never a ratio KPI)."""
    return prior(kpi, labels="")


def prior_ratio(numerator: str, denominator: str) -> str:
    """A network-wide ratio over the prior window: Σ prior numerator ÷ Σ prior denominator."""
    return f"{prior_sum(numerator)} / {prior_sum(denominator)}"


def prior_turns() -> str:
    """Network annualised turns over the prior window, as `turns()` is built: each location's
    prior COGS scaled to a year by its prior covered days (dropped where those are 0), ÷ Σ
    prior average inventory value."""

    def series(kpi: str) -> str:
        return f"inventory_kpi_prior{selector(LOCATION, WINDOW, kpi_matcher(kpi))}"

    return (
        f"sum({series('cogs')} * 365 / ignoring (kpi) ({series('covered_days')} > 0))"
        f" / {prior_sum('average_inventory_value')}"
    )


def change(current: str, prior_value: str) -> str:
    """(current - prior) ÷ |prior| of two single-series expressions; absent where prior is 0."""
    return f"(({current}) - ({prior_value})) / (abs({prior_value}) > 0)"


def change_ratio(*kpis: str, labels: str = "location, kpi") -> str:
    """(current - prior) / |prior| of each of `kpis`, per location and KPI."""
    return total(
        "inventory_kpi_change_ratio", selector(LOCATION, WINDOW, kpi_matcher(*kpis)), labels
    )


def cohort_fill_rate(labels: str = "policy_source") -> str:
    """Units shipped ÷ units ordered of the lines placed under each policy source."""
    return ratio("inventory_cohort_units_shipped", "inventory_cohort_units_ordered", labels=labels)


def cohort_turns(labels: str = "policy_source") -> str:
    """Annualised turns of each policy source's SKU-locations: its COGS scaled to a year by
    each location's covered days, ÷ its time-weighted average inventory value."""
    cogs = (
        f"sum{by(labels)}(inventory_cohort_cogs_dollars{IN_WINDOW} * 365"
        f" / ignoring (policy_source) group_left () (inventory_window_covered_days{IN_WINDOW} > 0))"
    )
    return f"{cogs} / {total('inventory_cohort_average_value_dollars', labels=labels)}"


def replan_quantile(quantile: float, matchers: str = AT) -> str:
    """Quantile of time-to-replan over every disruption seen (cumulative histogram)."""
    return (
        f"histogram_quantile({quantile:g}, "
        f"sum by (le) (inventory_time_to_replan_seconds_bucket{matchers}))"
    )


def event_lag_quantile(quantile: float) -> str:
    """Quantile of event-time lag (occurred_at → processed) over the rate interval."""
    return (
        f"histogram_quantile({quantile:g}, "
        f"sum by (le) (rate(kpimon_event_lag_seconds_bucket{RATE})))"
    )


def or_zero(expr: str) -> str:
    """`(expr) or vector(0)`: a zero instead of no data where zero is the true answer."""
    return f"({expr}) or vector(0)"
