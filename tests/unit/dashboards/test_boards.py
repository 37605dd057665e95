"""The generated Grafana boards: committed JSON, structure, and the metrics their queries use."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Any

import pytest

from dashboards.build import PACKAGE_DIR, render
from dashboards.panels import DATASOURCE_UID
from dashboards.queries import (
    annotation_queries,
    metric_names,
    panels,
    substitute,
    targets,
    variable_queries,
)

EXPECTED_UIDS = {"kpimon-executive", "kpimon-operations", "kpimon-oncall", "kpimon-pipeline"}
DIMENSIONS = ("location", "region", "channel", "customer_tier", "topic")
UNITLESS_TYPES = {"table"}  # tables carry units per column (field overrides)


def all_exprs(board: dict[str, Any]) -> list[str]:
    """Every PromQL of a board with variables substituted: targets, annotations, variables."""
    exprs = [substitute(target.expr) for target in targets(board)]
    exprs += [substitute(expr) for expr in annotation_queries(board)]
    exprs += [substitute(series) for series, _ in variable_queries(board).values() if series]
    return exprs


def test_committed_json_matches_code(boards: dict[str, dict[str, Any]]) -> None:
    """dashboards/*.json is exactly what the code generates (run `kpimon dashboards build`)."""
    committed = {path.name for path in Path(PACKAGE_DIR).glob("*.json")}
    assert committed == set(boards), "stale or missing dashboards/*.json"
    for name, board in boards.items():
        text = (PACKAGE_DIR / name).read_text(encoding="utf-8")
        assert text == render(board), f"{name} is stale: run `kpimon dashboards build`"


def test_render_is_stable(boards: dict[str, dict[str, Any]]) -> None:
    """Rendering sorts keys, indents by 2 and ends with one newline, so diffs stay small."""
    text = render(boards["executive.json"])
    assert text.endswith("}\n") and not text.endswith("\n\n")
    assert text.startswith('{\n  "annotations"')


def test_boards_have_stable_uids_and_titles(boards: dict[str, dict[str, Any]]) -> None:
    """There are at least four boards, each with its fixed uid, a title and the kpimon tag."""
    assert len(boards) >= 4
    assert {board["uid"] for board in boards.values()} == EXPECTED_UIDS
    for board in boards.values():
        assert board["title"].strip()
        assert board["description"].strip()
        assert "kpimon" in board["tags"]


def test_every_panel_has_description_and_target(boards: dict[str, dict[str, Any]]) -> None:
    """Every panel explains its definition and runs at least one query."""
    for board in boards.values():
        for panel in panels(board):
            where = f"{board['uid']} / {panel.get('title')}"
            assert panel.get("title"), where
            assert len(panel.get("description", "")) >= 20, f"{where}: no description"
            assert panel.get("targets"), f"{where}: no target"
            assert all(target.get("expr") for target in panel["targets"]), where


def test_enough_queries_in_total(boards: dict[str, dict[str, Any]]) -> None:
    """The four boards carry at least 30 panel queries between them."""
    assert sum(len(list(targets(board))) for board in boards.values()) >= 30


def test_panels_use_prometheus_datasource(boards: dict[str, dict[str, Any]]) -> None:
    """Every panel and target reads the provisioned Prometheus datasource by uid."""
    for board in boards.values():
        for panel in panels(board):
            assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == DATASOURCE_UID


def test_panel_ids_unique_and_grid_fits(boards: dict[str, dict[str, Any]]) -> None:
    """Panel ids are unique per board and every panel fits the 24-column grid."""
    for board in boards.values():
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)) and 0 not in ids
        for panel in board["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0


def test_panels_do_not_overlap(boards: dict[str, dict[str, Any]]) -> None:
    """No two panels of a board cover the same grid cell."""
    for board in boards.values():
        taken: dict[tuple[int, int], str] = {}
        for panel in board["panels"]:
            grid = panel["gridPos"]
            for x in range(grid["x"], grid["x"] + grid["w"]):
                for y in range(grid["y"], grid["y"] + grid["h"]):
                    other = taken.setdefault((x, y), panel["title"])
                    assert other == panel["title"], f"{board['uid']}: {other} / {panel['title']}"


def test_panels_set_units(boards: dict[str, dict[str, Any]]) -> None:
    """Every chart states a unit and decimals; tables do so per column."""
    for board in boards.values():
        for panel in panels(board):
            where = f"{board['uid']} / {panel['title']}"
            defaults = panel["fieldConfig"]["defaults"]
            if panel["type"] in UNITLESS_TYPES:
                overrides = panel["fieldConfig"]["overrides"]
                assert overrides, f"{where}: no column units"
                assert all(
                    any(prop["id"] == "unit" for prop in override["properties"])
                    for override in overrides
                ), where
            else:
                assert defaults.get("unit"), f"{where}: no unit"
                assert "decimals" in defaults, f"{where}: no decimals"


def test_targets_colour_service_kpis(boards: dict[str, dict[str, Any]]) -> None:
    """Fill rate and OTIF stats are coloured against their targets (0.95 and 0.90)."""
    by_title = {panel["title"]: panel for panel in panels(boards["executive.json"])}
    for title, value in (("Fill rate", 0.95), ("OTIF", 0.90)):
        steps = by_title[title]["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert steps[-1] == {"color": "green", "value": value}
        assert steps[0]["color"] == "red"
        assert "target ≥" in by_title[title]["description"]


def test_window_variable(boards: dict[str, dict[str, Any]]) -> None:
    """Boards with window KPIs offer the `window` variable with 7d (default) and 30d."""
    for name in ("executive.json", "operations.json", "oncall.json"):
        variables = {v["name"]: v for v in boards[name]["templating"]["list"]}
        window = variables["window"]
        assert window["query"] == "7d,30d" and window["current"]["value"] == "7d"
        assert not window["multi"]


def test_multi_select_variables_match_by_regex(boards: dict[str, dict[str, Any]]) -> None:
    """Multi-select variables are `label_values` queries and queries match them with `=~`."""
    for board in boards.values():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        for name in DIMENSIONS:
            if name not in variables:
                continue
            variable = variables[name]
            assert variable["multi"] and variable["includeAll"]
            assert variable["allValue"] == ".+"
            assert variable["query"].startswith("label_values(")
        for expr in [t.expr for t in targets(board)] + list(
            series for series, _ in variable_queries(board).values()
        ):
            for operator, name in re.findall(r'(=~|!~|!=|=)"\$(\w+)"', expr):
                assert name in variables, f"${name} is not a variable of {board['uid']}"
                expected = "=~" if variables[name].get("multi") else "="
                assert operator == expected, f"{board['uid']}: {operator}${name} in {expr}"


def test_board_variables_cover_used_ones(boards: dict[str, dict[str, Any]]) -> None:
    """Every `$variable` a query uses is defined on its board (or is a Grafana built-in)."""
    for board in boards.values():
        defined = {v["name"] for v in board["templating"]["list"]}
        for target in targets(board):
            used = set(re.findall(r"\$(\w+)", target.expr)) - {"__rate_interval", "__range"}
            assert used <= defined, f"{board['uid']} / {target.panel}: {used - defined}"


def test_queries_use_only_documented_metrics(
    boards: dict[str, dict[str, Any]], documented: Any
) -> None:
    """Every metric a query selects is in docs/METRICS.md or is a Prometheus built-in."""
    unknown: dict[str, set[str]] = {}
    for board in boards.values():
        for expr in all_exprs(board):
            for name in metric_names(expr):
                if not documented.allows(name):
                    unknown.setdefault(name, set()).add(board["uid"])
    assert not unknown, f"metrics not in docs/METRICS.md: {unknown}"


def test_every_documented_metric_is_charted(
    boards: dict[str, dict[str, Any]], documented: Any
) -> None:
    """Every metric of docs/METRICS.md (or one of its `*` family) is on some board."""
    used: set[str] = set()
    for board in boards.values():
        for expr in all_exprs(board):
            used |= metric_names(expr)
    used |= {re.sub(r"_(bucket|count|sum)$", "", name) for name in used}
    missing = [
        name
        for name in documented.names
        if not any(fnmatch.fnmatchcase(metric, name) for metric in used)
    ]
    assert not missing, f"documented but on no board: {sorted(missing)}"


def test_metrics_doc_parsed(documented: Any) -> None:
    """The docs/METRICS.md parser finds the KPI, pipeline and histogram metrics."""
    assert "inventory_window_units_shipped" in documented.names
    assert "kpimon_consumer_lag_messages" in documented.names
    assert documented.histograms >= {"inventory_time_to_replan_seconds", "kpimon_event_lag_seconds"}
    assert documented.allows("inventory_time_to_replan_seconds_bucket")
    assert documented.allows("inventory_otif_by_customer_tier_ratio")
    assert not documented.allows("inventory_fill_rate_ratio_bucket")
    assert not documented.allows("inventory_made_up_metric")


def test_network_ratios_are_sum_over_sum(boards: dict[str, dict[str, Any]]) -> None:
    """Network-wide fill rate and turns divide sums of numerators and denominators."""
    exprs = [t.expr for t in targets(boards["executive.json"])]
    assert (
        'sum(inventory_window_units_shipped{location=~"$location", window="$window"})'
        ' / sum(inventory_window_units_ordered{location=~"$location", window="$window"})'
    ) in exprs
    assert any(
        e.startswith("sum(inventory_window_cogs_dollars") and "inventory_window_covered_days" in e
        for e in exprs
    )
    assert not any(re.search(r"avg\s*\(\s*inventory_\w+_ratio", e) for e in exprs)


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        ("up", {"up"}),
        ('sum by (le) (rate(foo_bucket{a=~"x|y"}[5m]))', {"foo_bucket"}),
        ('sum(a{w="7d"}) / sum(b) * 365 / 1e6', {"a", "b"}),
        ('x or on() label_replace(vector(0), "alertname", "none", "", "")', {"x"}),
        ("histogram_quantile(0.9, sum by (le, job) (h_bucket)) > bool 1", {"h_bucket"}),
        ("time() - max by (location) (ts_seconds)", {"ts_seconds"}),
        ("a unless ignoring (instance) b offset 5m", {"a", "b"}),
    ],
)
def test_metric_names(expr: str, names: set[str]) -> None:
    """Metric-name extraction ignores functions, keywords, label names, strings and numbers."""
    assert metric_names(expr) == names


def test_substitute() -> None:
    """Template variables are replaced the way Grafana interpolates them."""
    expr = 'rate(x{location=~"$location", window="${window}"}[$__rate_interval])'
    assert substitute(expr) == 'rate(x{location=~".+", window="7d"}[1m])'
    assert substitute(expr, {"location": "DC1"}).startswith('rate(x{location=~"DC1"')
    with pytest.raises(KeyError):
        substitute('x{a="$nope"}')
