"""Shared panel helpers: one Prometheus datasource, queries, units and thresholds.

Every helper takes a title, a description stating the definition of what the
panel shows, and one or more `Query`; the target (if any) colours the values
and is appended to the description.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import bargauge as bargauge_builder
from grafana_foundation_sdk.builders import common as common_builder
from grafana_foundation_sdk.builders import dashboard as dashboard_builder
from grafana_foundation_sdk.builders import prometheus as prometheus_builder
from grafana_foundation_sdk.builders import stat as stat_builder
from grafana_foundation_sdk.builders import statetimeline as statetimeline_builder
from grafana_foundation_sdk.builders import table as table_builder
from grafana_foundation_sdk.builders import timeseries as timeseries_builder
from grafana_foundation_sdk.builders import xychart as xychart_builder
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dashboard_model
from grafana_foundation_sdk.models import prometheus as prometheus_model
from grafana_foundation_sdk.models import xychart as xychart_model

from dashboards.targets import Direction, Target

DATASOURCE_UID = "prometheus"
DATASOURCE = dashboard_model.DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)

# Grafana unit ids.
RATIO = "percentunit"
DOLLARS = "currencyUSD"
SECONDS = "s"
COUNT = "short"
PER_SECOND = "ops"
DAYS = "suffix: d"
PER_YEAR = "suffix: /yr"
PER_HOUR = "suffix: /h"
PER_MILLION = "suffix: per $1M"

GREEN, AMBER, RED, NEUTRAL = "green", "orange", "red", "blue"
GREY = "#8e8e8e"  # "no change" / "neutral": neither good nor bad

# Table columns every Prometheus table frame carries and no board needs.
HIDDEN_COLUMNS = ("Time", "__name__", "instance", "job")


@dataclass(frozen=True, slots=True)
class Query:
    """A PromQL query of a panel; `table` asks for one instant table frame."""

    expr: str
    legend: str = ""
    instant: bool = False
    table: bool = False


def _targets(queries: Sequence[Query]) -> list[cogbuilder.Builder[cogvariants.Dataquery]]:
    targets: list[cogbuilder.Builder[cogvariants.Dataquery]] = []
    for index, query in enumerate(queries):
        target = (
            prometheus_builder.Dataquery()
            .expr(query.expr)
            .ref_id(chr(ord("A") + index))
            .datasource(DATASOURCE)
        )
        if query.legend:
            target.legend_format(query.legend)
        if query.instant or query.table:
            target.instant()
        else:
            target.range()
        if query.table:
            target.format(prometheus_model.PromQueryFormat.TABLE)
        targets.append(target)
    return targets


def thresholds(target: Target | None) -> dashboard_builder.ThresholdsConfig:
    """Threshold steps coloured against a target (neutral blue without one)."""
    if target is None or target.direction == "neutral":
        steps = [dashboard_model.Threshold(None, NEUTRAL)]
    elif target.direction == "higher":
        steps = [
            dashboard_model.Threshold(None, RED),
            dashboard_model.Threshold(target.limit, AMBER),
            dashboard_model.Threshold(target.value, GREEN),
        ]
    else:
        amber = target.value if target.amber is None else target.amber
        steps = [
            dashboard_model.Threshold(None, GREEN),
            dashboard_model.Threshold(amber, AMBER),
            dashboard_model.Threshold(target.limit, RED),
        ]
    return (
        dashboard_builder.ThresholdsConfig()
        .mode(dashboard_model.ThresholdsMode.ABSOLUTE)
        .steps(steps)
    )


def change_thresholds(better: Direction, noise: float) -> dashboard_builder.ThresholdsConfig:
    """Colours of a relative change on the prior window: green where it moved the `better`
    way by more than `noise`, red where it moved the other way, grey in between."""
    if better == "neutral":
        return thresholds(None)
    low, high = (RED, GREEN) if better == "higher" else (GREEN, RED)
    return (
        dashboard_builder.ThresholdsConfig()
        .mode(dashboard_model.ThresholdsMode.ABSOLUTE)
        .steps(
            [
                dashboard_model.Threshold(None, low),
                dashboard_model.Threshold(-noise, GREY),
                dashboard_model.Threshold(noise, high),
            ]
        )
    )


def _describe(description: str, target: Target | None, unit_word: str) -> str:
    if target is None or target.direction == "neutral":
        return description
    return f"{description} Colours: {target.describe(unit_word)}."


def _last_value() -> common_builder.ReduceDataOptions:
    return common_builder.ReduceDataOptions().calcs(["lastNotNull"]).values(False)


class _ValuePanel(Protocol):
    def title(self, title: str) -> Self: ...

    def description(self, description: str) -> Self: ...

    def datasource(self, datasource: dashboard_model.DataSourceRef) -> Self: ...

    def targets(self, targets: list[cogbuilder.Builder[cogvariants.Dataquery]]) -> Self: ...

    def unit(self, unit: str) -> Self: ...

    def decimals(self, decimals: float) -> Self: ...

    def thresholds(
        self, thresholds: cogbuilder.Builder[dashboard_model.ThresholdsConfig]
    ) -> Self: ...


_Panel = TypeVar("_Panel", bound=_ValuePanel)


def _values(
    panel: _Panel,
    title: str,
    description: str,
    queries: Sequence[Query],
    unit: str,
    decimals: int,
    target: Target | None,
    unit_word: str,
) -> _Panel:
    """What every value panel sets alike: text, queries, unit and target colours."""
    return (
        panel.title(title)
        .description(_describe(description, target, unit_word))
        .datasource(DATASOURCE)
        .targets(_targets(queries))
        .unit(unit)
        .decimals(decimals)
        .thresholds(thresholds(target))
    )


def _threshold_colours() -> dashboard_builder.FieldColor:
    return dashboard_builder.FieldColor().mode(dashboard_model.FieldColorModeId.THRESHOLDS)


class _Bounded(Protocol):
    def min(self, min_val: float) -> Any: ...

    def max(self, max_val: float) -> Any: ...


def _bounds(panel: _Bounded, min_value: float | None, max_value: float | None) -> None:
    """Fix the value axis (or bar range) at either end that is given."""
    if min_value is not None:
        panel.min(min_value)
    if max_value is not None:
        panel.max(max_value)


def stat(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str,
    decimals: int = 2,
    target: Target | None = None,
    unit_word: str = "",
    width: int = 4,
    height: int = 5,
    sparkline: bool = True,
    mappings: list[dashboard_model.ValueMapping] | None = None,
) -> stat_builder.Panel:
    """A big number (last value) with a sparkline of its trend and target colours."""
    panel = (
        _values(
            stat_builder.Panel(), title, description, queries, unit, decimals, target, unit_word
        )
        .color_scheme(_threshold_colours())
        .graph_mode(common.BigValueGraphMode.AREA if sparkline else common.BigValueGraphMode.NONE)
        .color_mode(common.BigValueColorMode.VALUE)
        .text_mode(common.BigValueTextMode.AUTO)
        .reduce_options(_last_value())
        .no_value("no data")
        .span(width)
        .height(height)
    )
    if mappings:
        panel.mappings(mappings)
    return panel


def timeseries(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str,
    decimals: int = 2,
    target: Target | None = None,
    unit_word: str = "",
    width: int = 12,
    height: int = 8,
    min_value: float | None = None,
    max_value: float | None = None,
    stacked: bool = False,
    overrides: Sequence[dict[str, Any]] = (),
) -> timeseries_builder.Panel:
    """A trend over the dashboard's time range; a target is drawn as dashed lines."""
    panel = (
        _values(
            timeseries_builder.Panel(),
            title,
            description,
            queries,
            unit,
            decimals,
            target,
            unit_word,
        )
        .line_width(2)
        .fill_opacity(10)
        .span_nulls(True)
        .legend(
            common_builder.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "min", "max"])
        )
        .tooltip(
            common_builder.VizTooltipOptions()
            .mode(common.TooltipDisplayMode.MULTI)
            .sort(common.SortOrder.DESCENDING)
        )
        .span(width)
        .height(height)
    )
    if target is not None and target.direction != "neutral":
        panel.thresholds_style(
            common_builder.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.DASHED)
        )
    for override in overrides:
        panel.override_by_name(override["name"], override["properties"])
    if stacked:
        panel.stacking(common_builder.StackingConfig().mode(common.StackingMode.NORMAL))
    _bounds(panel, min_value, max_value)
    return panel


def bar_gauge(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str,
    decimals: int = 2,
    target: Target | None = None,
    unit_word: str = "",
    width: int = 12,
    height: int = 8,
    min_value: float | None = None,
    max_value: float | None = None,
) -> bargauge_builder.Panel:
    """Horizontal bars, one per series (e.g. per location), coloured against a target."""
    panel = (
        _values(
            bargauge_builder.Panel(), title, description, queries, unit, decimals, target, unit_word
        )
        .color_scheme(_threshold_colours())
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(_last_value())
        .span(width)
        .height(height)
    )
    _bounds(panel, min_value, max_value)
    return panel


def state_timeline(
    title: str,
    description: str,
    queries: Sequence[Query],
    *,
    unit: str,
    mappings: list[dashboard_model.ValueMapping],
    decimals: int = 0,
    width: int = 24,
    height: int = 8,
) -> statetimeline_builder.Panel:
    """One lane per series showing which mapped state it was in over the time range."""
    return (
        _values(
            statetimeline_builder.Panel(), title, description, queries, unit, decimals, None, ""
        )
        .color_scheme(_threshold_colours())
        .mappings(mappings)
        .show_value(common.VisibilityMode.AUTO)
        .merge_values(True)
        .row_height(0.8)
        .fill_opacity(80)
        .legend(_list_legend())
        .tooltip(_single_tooltip())
        .span(width)
        .height(height)
    )


def organize(
    rename: dict[str, str], hide: Sequence[str] = HIDDEN_COLUMNS
) -> dashboard_model.DataTransformerConfig:
    """Grafana's "organize fields": hide bookkeeping columns and rename values."""
    return dashboard_model.DataTransformerConfig(
        id_val="organize",
        options={
            "excludeByName": dict.fromkeys(hide, True),
            "renameByName": rename,
        },
    )


MERGE = dashboard_model.DataTransformerConfig(id_val="merge", options={})


@dataclass(frozen=True, slots=True)
class Column:
    """A value column of a table: its display name, unit, decimals and target colours."""

    name: str
    unit: str = COUNT
    decimals: int = 2
    target: Target | None = None


def value_columns(columns: Sequence[Column]) -> dict[str, str]:
    """Rename map of the value columns Grafana names after the queries' refIds."""
    if len(columns) == 1:
        return {"Value": columns[0].name}
    return {f"Value #{chr(ord('A') + index)}": column.name for index, column in enumerate(columns)}


def column_properties(column: Column) -> list[dashboard_model.DynamicConfigValue]:
    """Unit, decimals and (with a target) coloured text thresholds of one column."""
    properties = [
        dashboard_model.DynamicConfigValue(id_val="unit", value=column.unit),
        dashboard_model.DynamicConfigValue(id_val="decimals", value=column.decimals),
    ]
    if column.target is not None:
        properties += [
            dashboard_model.DynamicConfigValue(
                id_val="thresholds", value=thresholds(column.target).build()
            ),
            dashboard_model.DynamicConfigValue(
                id_val="custom.cellOptions", value={"type": "color-text"}
            ),
        ]
    return properties


def right_axis(field: str, unit: str, decimals: int = 2) -> dict[str, Any]:
    """Arguments for `override_by_name`: draw one series on a right axis in its own unit."""
    return {
        "name": field,
        "properties": [
            *column_properties(Column(field, unit, decimals)),
            dashboard_model.DynamicConfigValue(id_val="custom.axisPlacement", value="right"),
        ],
    }


def table(
    title: str,
    description: str,
    queries: Sequence[Query],
    columns: Sequence[Column],
    *,
    sort_by: str | None = None,
    descending: bool = False,
    hide: Sequence[str] = HIDDEN_COLUMNS,
    width: int = 12,
    height: int = 8,
) -> table_builder.Panel:
    """Instant table frames merged on their labels: one row per label set, a column per query."""
    if len(columns) != len(queries):
        raise ValueError(f"{title}: one column per query")
    panel = (
        table_builder.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets(queries))
        .thresholds(thresholds(None))
        .with_transformation(MERGE)
        .with_transformation(organize(value_columns(columns), hide))
        .show_header(True)
        .span(width)
        .height(height)
    )
    for column in columns:
        panel.override_by_name(column.name, column_properties(column))
    if sort_by is not None:
        panel.sort_by(
            [common_builder.TableSortByFieldState().display_name(sort_by).desc(descending)]
        )
    return panel


def xy_chart(
    title: str,
    description: str,
    x: tuple[Query, Column],
    y: tuple[Query, Column],
    *,
    width: int = 12,
    height: int = 9,
) -> xychart_builder.Panel:
    """Points (x, y) from two instant table frames merged on their labels."""
    columns = [x[1], y[1]]
    return (
        xychart_builder.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(_targets([x[0], y[0]]))
        .with_transformation(MERGE)
        .with_transformation(organize(value_columns(columns)))
        .series_mapping(xychart_model.SeriesMapping.AUTO)
        .dims(xychart_builder.XYDimensionConfig().frame(0).x(x[1].name))
        .show(xychart_model.ScatterShow.POINTS)
        .point_size(common_builder.ScaleDimensionConfig().fixed(8).min(4).max(16))
        .axis_label(y[1].name)
        .unit(y[1].unit)
        .decimals(y[1].decimals)
        .override_by_name(
            x[1].name,
            [
                *column_properties(x[1]),
                dashboard_model.DynamicConfigValue(id_val="custom.axisLabel", value=x[1].name),
            ],
        )
        .legend(_list_legend())
        .tooltip(_single_tooltip())
        .span(width)
        .height(height)
    )


def value_mappings(texts: dict[str, tuple[str, str]]) -> list[dashboard_model.ValueMapping]:
    """Value → (text, colour) mappings, e.g. `{"1": ("UP", "green")}`."""
    return [
        dashboard_model.ValueMap(
            options={
                value: dashboard_model.ValueMappingResult(text=text, color=color, index=index)
                for index, (value, (text, color)) in enumerate(texts.items())
            }
        )
    ]


def _list_legend() -> common_builder.VizLegendOptions:
    """A plain list legend under the panel."""
    return (
        common_builder.VizLegendOptions()
        .display_mode(common.LegendDisplayMode.LIST)
        .placement(common.LegendPlacement.BOTTOM)
        .show_legend(True)
    )


def _single_tooltip() -> common_builder.VizTooltipOptions:
    """A tooltip for the series under the pointer only."""
    return common_builder.VizTooltipOptions().mode(common.TooltipDisplayMode.SINGLE)
