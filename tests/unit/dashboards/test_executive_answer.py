"""The executive board leads with the answer (SPEC §4.3): the insights first, each KPI family
this period against its prior window, then model vs planner cohorts, then the five families."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dashboards.queries import metric_names

INSIGHTS = (
    "turns_without_stockouts",
    "service_without_inventory",
    "fewer_surprises",
    "simultaneous_improvement",
)
# kpi label value -> the per-location gauge of the current window, per family row.
FAMILIES = {
    "Working capital: this period vs prior": {
        "turns": "inventory_turns_annualized",
        "days_inventory_outstanding": "inventory_days_inventory_outstanding_days",
        "average_inventory_value": "inventory_average_value_dollars",
    },
    "Service: this period vs prior": {
        "fill_rate": "inventory_fill_rate_ratio",
        "otif": "inventory_otif_ratio",
    },
    "Risk: this period vs prior": {
        "stockout_events": "inventory_stockout_events",
        "expedite_cost_sales": "inventory_expedite_cost_sales_ratio",
        "forecast_wape": "inventory_forecast_wape_ratio",
    },
}
COHORTS = "Model vs planner policies"
FILTERED = ('location=~"$location"', 'window="$window"')


def rows(board: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(row title, its panels) in board order; the board's rows are not collapsed."""
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for panel in board["panels"]:
        if panel["type"] == "row":
            out.append((panel["title"], []))
        else:
            out[-1][1].append(panel)
    return out


@pytest.fixture(scope="module")
def executive(boards: dict[str, dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    return rows(boards["executive.json"])


def exprs(panels: list[dict[str, Any]]) -> list[str]:
    return [target["expr"] for panel in panels for target in panel["targets"]]


def test_rows_lead_with_the_answer(executive: list[tuple[str, list[dict[str, Any]]]]) -> None:
    """Insights, the three period-over-period rows and the cohorts come before every existing
    family row, in that order."""
    titles = [title for title, _ in executive]
    assert titles[:6] == [
        "Is adaptive planning working? Executive insights",
        *FAMILIES,
        COHORTS,
        "Working capital",
    ]
    assert titles[6:] == ["Service", "Operational risk", "Trade-offs", "Planning system trust"]


def test_first_row_is_the_four_insights_per_location(
    executive: list[tuple[str, list[dict[str, Any]]]],
) -> None:
    """One stat per insight, first on the board, each one series per location of the selected
    window; then their history as a state timeline."""
    _, panels = executive[0]
    stats = [panel for panel in panels if panel["type"] == "stat"]
    assert [panel["type"] for panel in panels] == ["stat"] * 4 + ["state-timeline"]
    assert {panel["gridPos"]["y"] for panel in stats} == {1}  # just under the first row header
    for insight, panel in zip(INSIGHTS, stats, strict=True):
        [target] = panel["targets"]
        assert metric_names(target["expr"]) == {"inventory_insight"}
        assert f'insight="{insight}"' in target["expr"]
        assert all(matcher in target["expr"] for matcher in FILTERED)
        assert target["legendFormat"] == "{{location}}"
    [timeline] = [panel for panel in panels if panel["type"] == "state-timeline"]
    [target] = timeline["targets"]
    assert target["expr"] == 'inventory_insight{location=~"$location", window="$window"}'


def test_insight_states_are_holds_neutral_violated(
    executive: list[tuple[str, list[dict[str, Any]]]],
) -> None:
    """1 shows green "holds", 0 grey "neutral", -1 red "violated", on every insight panel."""
    for panel in executive[0][1]:
        [mapping] = panel["fieldConfig"]["defaults"]["mappings"]
        options = mapping["options"]
        assert {value: (o["text"], o["color"]) for value, o in options.items()} == {
            "1": ("holds", "green"),
            "0": ("neutral", "#8e8e8e"),
            "-1": ("violated", "red"),
        }


def test_insight_panels_quote_the_seed_sentences(
    executive: list[tuple[str, list[dict[str, Any]]]],
) -> None:
    """Each insight's description quotes the seed sentence it encodes."""
    sentences = {
        "turns_without_stockouts": "without increasing stockout rates",
        "service_without_inventory": "higher service levels without uniform inventory increases",
        "fewer_surprises": "fewer surprises and less firefighting",
        "simultaneous_improvement": "not single-metric optimization",
    }
    stats = [panel for panel in executive[0][1] if panel["type"] == "stat"]
    for insight, panel in zip(INSIGHTS, stats, strict=True):
        assert sentences[insight] in panel["description"], insight


@pytest.mark.parametrize("family", list(FAMILIES))
def test_period_rows_show_current_prior_and_change(
    executive: list[tuple[str, list[dict[str, Any]]]], family: str
) -> None:
    """Per family: each KPI's gauge and its inventory_kpi_prior per location, and one change
    panel over the family's kpis; every query filtered by $location and $window."""
    panels = dict(executive)[family]
    queries = exprs(panels)
    for kpi, gauge in FAMILIES[family].items():
        assert f"sum by (location)({gauge}{{{', '.join(FILTERED)}}})" in queries
        assert (
            f'sum by (location)(inventory_kpi_prior{{{", ".join(FILTERED)}, kpi="{kpi}"}})'
            in queries
        )
    [change] = [q for q in queries if "inventory_kpi_change_ratio" in q]
    assert f'kpi=~"{"|".join(FAMILIES[family])}"' in change
    assert change.startswith("sum by (location, kpi)(")
    assert all(all(matcher in q for matcher in FILTERED) for q in queries)


WHERE = "{" + ", ".join(FILTERED) + "}"


def prior_sum(kpi: str) -> str:
    """Σ of a prior-window numerator or denominator over the selected locations."""
    return f'sum(inventory_kpi_prior{{{", ".join(FILTERED)}, kpi="{kpi}"}})'


# Row -> network-wide stat title -> (this window, prior window, which way is better).
NETWORK_PANELS = {
    "Working capital: this period vs prior": {
        "Turns: this window vs prior": (
            f"sum(inventory_window_cogs_dollars{WHERE} * 365"
            f" / (inventory_window_covered_days{WHERE} > 0))"
            f" / sum(inventory_average_value_dollars{WHERE})",
            f'sum(inventory_kpi_prior{{{", ".join(FILTERED)}, kpi="cogs"}} * 365'
            f' / ignoring (kpi) (inventory_kpi_prior{{{", ".join(FILTERED)}, kpi="covered_days"}}'
            f" > 0)) / {prior_sum('average_inventory_value')}",
            "higher",
        ),
    },
    "Service: this period vs prior": {
        "Fill rate: this window vs prior": (
            f"sum(inventory_window_units_shipped{WHERE})"
            f" / sum(inventory_window_units_ordered{WHERE})",
            f"{prior_sum('units_shipped')} / {prior_sum('units_ordered')}",
            "higher",
        ),
        "OTIF: this window vs prior": (
            f"sum(inventory_window_orders_otif{WHERE}) / sum(inventory_window_orders_due{WHERE})",
            f"{prior_sum('orders_otif')} / {prior_sum('orders_due')}",
            "higher",
        ),
    },
    "Risk: this period vs prior": {
        "Stockout events: this window vs prior": (
            f"sum(inventory_stockout_events{WHERE})",
            prior_sum("stockout_events"),
            "lower",
        ),
        "Expedite % of sales: this window vs prior": (
            f"sum(inventory_window_expedite_cost_dollars{WHERE})"
            f" / sum(inventory_window_sales_dollars{WHERE})",
            f"{prior_sum('expedite_cost')} / {prior_sum('sales')}",
            "lower",
        ),
    },
}


@pytest.mark.parametrize("family", list(NETWORK_PANELS))
def test_period_rows_lead_with_network_wide_this_window_vs_prior(
    executive: list[tuple[str, list[dict[str, Any]]]], family: str
) -> None:
    """Each period row opens with one stat per headline KPI, side by side on one line: Σ
    numerator ÷ Σ denominator (or a Σ) this window, the same over the prior window from
    inventory_kpi_prior's numerators and denominators, and their change (current - prior) ÷
    |prior| in percent, coloured green the better way and red the worse beyond the 1 % noise."""
    panels = dict(executive)[family]
    expected = NETWORK_PANELS[family]
    stats = panels[: len(expected)]
    assert [panel["title"] for panel in stats] == list(expected)
    assert sum(panel["gridPos"]["w"] for panel in stats) == 24
    assert len({panel["gridPos"]["y"] for panel in stats}) == 1
    for panel, (current, prior, better) in zip(stats, expected.values(), strict=True):
        assert panel["type"] == "stat"
        assert [(t["refId"], t["legendFormat"]) for t in panel["targets"]] == [
            ("A", "this window"),
            ("B", "prior window"),
            ("C", "change"),
        ]
        count = "stockout" in panel["title"].lower()  # a count: the change is a difference
        change = (
            f"({current}) - ({prior})"
            if count
            else f"(({current}) - ({prior})) / (abs({prior}) > 0)"
        )
        assert [t["expr"] for t in panel["targets"]] == [current, prior, change]
        for target in panel["targets"]:
            assert "by (" not in target["expr"]  # network-wide: never grouped per location
        assert "Network-wide" in panel["description"]
        [override] = panel["fieldConfig"]["overrides"]
        assert override["matcher"] == {"id": "byFrameRefID", "options": "C"}
        props = {prop["id"]: prop["value"] for prop in override["properties"]}
        assert props["unit"] == ("short" if count else "percentunit")
        steps = [(step["color"], step["value"]) for step in props["thresholds"]["steps"]]
        low, high = ("red", "green") if better == "higher" else ("green", "red")
        band = 0.5 if count else 0.01
        assert steps == [(low, None), ("#8e8e8e", -band), (high, band)]


def change_colours(panel: dict[str, Any]) -> dict[str, str]:
    """kpi -> the colour of a change beyond +noise on the change panel."""
    defaults = panel["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["color"]
    out = {}
    [target] = panel["targets"]
    kpis = re.search(r'kpi=~"([^"]+)"', target["expr"])
    assert kpis is not None
    for kpi in kpis.group(1).split("|"):
        out[kpi] = defaults
        for override in panel["fieldConfig"]["overrides"]:
            if re.fullmatch(override["matcher"]["options"], f"DC1 {kpi}"):
                [prop] = override["properties"]
                out[kpi] = prop["value"]["steps"][-1]["color"]
    return out


def test_change_is_green_when_the_kpi_moved_the_better_way(
    executive: list[tuple[str, list[dict[str, Any]]]],
) -> None:
    """A rise is green for turns, fill rate and OTIF, red for DIO, value and the risk KPIs."""
    colours: dict[str, str] = {}
    for family in FAMILIES:
        [panel] = [
            p for p in dict(executive)[family] if "inventory_kpi_change_ratio" in exprs([p])[0]
        ]
        assert panel["fieldConfig"]["defaults"]["unit"] == "percentunit"
        colours |= change_colours(panel)
    assert colours == {
        "turns": "green",
        "days_inventory_outstanding": "red",
        "average_inventory_value": "red",
        "fill_rate": "green",
        "otif": "green",
        "stockout_events": "red",
        "expedite_cost_sales": "red",
        "forecast_wape": "red",
    }


def test_cohort_panels_compare_policy_sources_as_sum_over_sum(
    executive: list[tuple[str, list[dict[str, Any]]]],
) -> None:
    """Fill rate and turns per policy_source divide sums of the cohort numerators by sums of
    their denominators, over the selected locations and window, for every policy source."""
    queries = exprs(dict(executive)[COHORTS])
    where = "{" + ", ".join(FILTERED) + "}"
    fill = (
        f"sum by (policy_source)(inventory_cohort_units_shipped{where})"
        f" / sum by (policy_source)(inventory_cohort_units_ordered{where})"
    )
    assert queries.count(fill) == 2  # bars now, and the trend
    turns = [q for q in queries if "* 365" in q]
    assert len(turns) == 2
    for query in turns:
        assert query.endswith(
            f" / sum by (policy_source)(inventory_cohort_average_value_dollars{where})"
        )
        assert "* 365 / ignoring (policy_source) group_left () " in query
        assert f"(inventory_window_covered_days{where} > 0)" in query
    for query in queries:
        assert "policy_source=" not in query and "policy_source!" not in query, query
    names = set().union(*(metric_names(q) for q in queries))
    assert names >= {
        "inventory_cohort_units_ordered",
        "inventory_cohort_units_shipped",
        "inventory_cohort_cogs_dollars",
        "inventory_cohort_average_value_dollars",
    }
