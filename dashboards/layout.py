"""Assemble a board from rows of panels and encode it as Grafana dashboard JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import dashboard as dashboard_model

from dashboards.panels import DATASOURCE

TAG = "kpimon"
# Marks on every time axis while one of the monitor's own Prometheus alerts fires.
ALERT_ANNOTATION = 'ALERTS{alertstate="firing"}'

PanelBuilder = cogbuilder.Builder[dashboard_model.Panel]
Section = tuple[str, Sequence[PanelBuilder]]


def board(
    *,
    uid: str,
    title: str,
    description: str,
    tags: Sequence[str],
    variables: Sequence[cogbuilder.Builder[dashboard_model.VariableModel]],
    sections: Sequence[Section],
    time_from: str = "now-24h",
    refresh: str = "30s",
) -> dict[str, Any]:
    """Dashboard JSON: one row per section, panels laid out left to right, stable ids."""
    builder = (
        dashboard_builder.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG, *tags])
        .editable()
        .timezone("browser")
        .time(time_from, "now")
        .refresh(refresh)
        .tooltip(dashboard_model.DashboardCursorSync.CROSSHAIR)
        .link(
            dashboard_builder.DashboardLink("Inventory KPI Monitor")
            .type(dashboard_model.DashboardLinkType.DASHBOARDS)
            .tags([TAG])
            .as_dropdown(True)
            .include_vars(True)
            .keep_time(True)
            .target_blank(False)
        )
        .annotation(
            dashboard_builder.AnnotationQuery()
            .name("Monitor alerts firing")
            .datasource(DATASOURCE)
            .enable(True)
            .hide(False)
            .icon_color("red")
            .expr(ALERT_ANNOTATION)
        )
    )
    for variable in variables:
        builder.with_variable(variable)
    for name, panels in sections:
        builder.with_row(dashboard_builder.Row(name))
        for panel in panels:
            builder.with_panel(panel)
    model = builder.build()
    for number, built in enumerate(model.panels or [], start=1):
        built.id_val = number
    encoded: dict[str, Any] = json.loads(json.dumps(model, cls=JSONEncoder))
    return encoded
