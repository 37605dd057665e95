"""Template variables of the boards.

Dimension variables are multi-select with an "All" value of `.+`, so queries
match them with `=~`; `window` picks one KPI window (`7d`, `30d`, as in
`KpiSettings.windows`).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.models import dashboard as dashboard_model

from dashboards.panels import DATASOURCE

WINDOWS: tuple[str, ...] = ("7d", "30d")
ALL_VALUE = ".+"


def window() -> dashboard_builder.CustomVariable:
    """The KPI window every KPI gauge is labelled with."""
    return (
        dashboard_builder.CustomVariable("window")
        .id("window")
        .label("KPI window")
        .description("Trailing event-time window of the KPIs (label `window`).")
        .values(",".join(WINDOWS))
        .current(dashboard_model.VariableOption(selected=True, text=WINDOWS[0], value=WINDOWS[0]))
        .options(
            [
                dashboard_model.VariableOption(selected=index == 0, text=value, value=value)
                for index, value in enumerate(WINDOWS)
            ]
        )
        .multi(False)
        .include_all(False)
    )


def label(name: str, title: str, series: str, description: str) -> dashboard_builder.QueryVariable:
    """A multi-select variable listing the values of label `name` on `series`."""
    return (
        dashboard_builder.QueryVariable(name)
        .id(name)
        .label(title)
        .description(description)
        .datasource(DATASOURCE)
        .query(f"label_values({series}, {name})")
        .refresh(dashboard_model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard_model.VariableSort.ALPHABETICAL_CASE_INSENSITIVE_ASC)
        .multi(True)
        .include_all(True)
        .all_value(ALL_VALUE)
        .current(dashboard_model.VariableOption(selected=True, text="All", value="$__all"))
    )


def location() -> dashboard_builder.QueryVariable:
    """Locations the exporter reports (label `location`)."""
    return label(
        "location", "Location", "inventory_value_dollars", "Location codes (label `location`)."
    )


def region() -> dashboard_builder.QueryVariable:
    """Regions of the orders due at the selected locations."""
    return label(
        "region",
        "Region",
        'inventory_window_units_ordered{location=~"$location"}',
        "Order regions (label `region`) at the selected locations.",
    )


def channel() -> dashboard_builder.QueryVariable:
    """Sales channels of the orders due at the selected locations."""
    return label(
        "channel",
        "Channel",
        'inventory_window_units_ordered{location=~"$location"}',
        "Sales channels (label `channel`) at the selected locations.",
    )


def customer_tier() -> dashboard_builder.QueryVariable:
    """Customer tiers (strategic, key, standard) of the orders due."""
    return label(
        "customer_tier",
        "Customer tier",
        'inventory_window_units_ordered{location=~"$location"}',
        "Customer tiers (label `customer_tier`: strategic, key, standard).",
    )


def topic() -> dashboard_builder.QueryVariable:
    """Kafka topics the worker consumes."""
    return label("topic", "Topic", "kpimon_events_total", "Source Kafka topics (label `topic`).")
