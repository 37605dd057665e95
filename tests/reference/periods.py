"""SPEC §4.3 for the batch reference: prior windows, change ratios, insights and cohorts.

Read from docs/KPI_DEFINITIONS.md, "Period over period, insights and cohorts", and
written out again here: like `batch_kpis` and `arrival`, it shares no code with
`streams/core/`. `batch_kpis` computes a window's prior window with its own families
(`_PriorWindow`: the same definitions over `[window start - W, window start)`) and
hands both readings here:

- `prior_rows(current, prior, settings)`: `inventory_kpi_prior{kpi}`,
  `inventory_kpi_change_ratio{kpi}` and `inventory_insight{insight}` from the two
  windows' location-wide figures (keyed by metric name, absent ones left out);
- `cohort_rows(window)`: `inventory_cohort_*{policy_source}` of the window.

Readings (numbered on from those of `batch_kpis`):

18. Prior window of W: `[s - W, s)` with `s` the window's first instant; it exists once
    `first(L) < s - W + bucket`, covered from `max(s - W, first(L))`. Orders due, events
    and stockout starts in it are those with a time in `[s - W, s)`; forecast periods
    those ending in `(s - W, s]`; the SKU-locations known are today's. The reference
    keeps every order (it never forgets one), which is what the engine reads while it has
    not pruned: the agreement tests never call `prune()`.
19. A move is up (1) / down (-1) beyond `insight_noise` relative to the prior (from a
    prior of 0, any positive value is up); insights follow the table of the docs, the
    inventory allowance of `service_without_inventory` being `inventory_tolerance`.
20. Cohorts: the policy in force at `t` is the latest `policy.applied` of the SKU-location
    at or before `t` (by time, then event id); `model` when it names a recommendation
    without a `policy.overridden` at the location, `planner` when it names none or an
    overridden one, `none` before any. Order lines (orders due in the window) count at
    their placement, read with every policy and override seen. A SKU-location's value
    integral and COGS count per bucket in the cohort in force at the bucket's start: for
    a closed bucket as known when it closed (`Arrival.cohorts`, the processing order),
    for the open bucket as known now.
21. Not mirrored: a late correction (or a new first snapshot pricing what came before
    it) that reached a closed bucket while the cohort in force at its start, as then
    known, was not the one the bucket closed in; the engine then splits the bucket's
    amounts between two cohorts and the reference cannot tell how much went where.
    The COGS and average value of every cohort of a window holding such a bucket
    (`Arrival.unsettled`) are NaN: not judged (`batch_kpis.compare` skips them). Units
    are always judged.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING

from streams.settings import KpiSettings
from tests.reference.arrival import MODEL, NONE, PLANNER, bucket_of, policy_source, ts

if TYPE_CHECKING:
    from tests.reference.batch_kpis import _Location, _Window

Row = tuple[str, float | None, dict[str, str]]

SOURCES = (MODEL, PLANNER, NONE)
NOT_JUDGED = math.nan

#: `kpi` label -> the metric of the same figure over the window.
PRIOR_KPIS: dict[str, str] = {
    "turns": "inventory_turns_annualized",
    "days_inventory_outstanding": "inventory_days_inventory_outstanding_days",
    "average_inventory_value": "inventory_average_value_dollars",
    "fill_rate": "inventory_fill_rate_ratio",
    "line_fill_rate": "inventory_line_fill_rate_ratio",
    "otif": "inventory_otif_ratio",
    "stockout_events": "inventory_stockout_events",
    "forecast_wape": "inventory_forecast_wape_ratio",
    "forecast_mape": "inventory_forecast_mape_ratio",
    "expedite_cost_sales": "inventory_expedite_cost_sales_ratio",
    "service_per_million": "inventory_service_level_per_million_dollars",
    "policy_changes_per_sku_location": "inventory_policy_changes_per_sku_location",
    "planner_override": "inventory_planner_override_ratio",
    "time_to_replan_median_seconds": "inventory_time_to_replan_median_seconds",
    # Numerators and denominators (the service counts summed over the location's groups).
    "cogs": "inventory_window_cogs_dollars",
    "covered_days": "inventory_window_covered_days",
    "units_ordered": "inventory_window_units_ordered",
    "units_shipped": "inventory_window_units_shipped",
    "order_lines": "inventory_window_order_lines",
    "order_lines_filled": "inventory_window_order_lines_filled",
    "orders_due": "inventory_window_orders_due",
    "orders_otif": "inventory_window_orders_otif",
    "expedite_cost": "inventory_window_expedite_cost_dollars",
    "sales": "inventory_window_sales_dollars",
    "forecast_abs_error": "inventory_forecast_abs_error_units",
    "forecast_actual": "inventory_forecast_actual_units",
    "policy_changes": "inventory_window_policy_changes",
    "policy_overrides": "inventory_window_policy_overrides",
    "policy_recommendations": "inventory_window_policy_recommendations",
}

# --- period over period and insights --------------------------------------------------------


def change_ratio(now: float | None, before: float | None) -> float | None:
    """`(current - prior) / |prior|`; None when either is absent or the prior is 0."""
    if now is None or before is None or before == 0:
        return None
    return (now - before) / abs(before)


def move(now: float | None, before: float | None, noise: float) -> int | None:
    """1 up, -1 down (beyond `noise` relative to the prior; from 0 any change), 0 unchanged."""
    if now is None or before is None:
        return None
    if before == 0:
        return (now > 0) - (now < 0)
    change = (now - before) / abs(before)
    return 1 if change > noise else -1 if change < -noise else 0


def family(moves: list[int | None]) -> int | None:
    """Moves oriented so that 1 is better: improves when one input improves and none
    worsens, worse when one worsens and none improves, else 0; None without inputs."""
    present = [x for x in moves if x is not None]
    if not present:
        return None
    if 1 in present and -1 not in present:
        return 1
    if -1 in present and 1 not in present:
        return -1
    return 0


def insights(
    now: Mapping[str, float | None],
    before: Mapping[str, float | None],
    noise: float,
    tolerance: float,
) -> dict[str, int]:
    """The insight signals of a window from the two readings by `kpi` name (absent ones
    left out of the result)."""

    def moved(kpi: str) -> int | None:
        return move(now.get(kpi), before.get(kpi), noise)

    turns, stockouts, fill = moved("turns"), moved("stockout_events"), moved("fill_rate")
    found: dict[str, int | None] = {}
    if turns is not None and stockouts is not None:
        found["turns_without_stockouts"] = 0 if turns != 1 else -1 if stockouts == 1 else 1
    value = move(now.get("average_inventory_value"), before.get("average_inventory_value"),
                 tolerance)  # fmt: skip
    if fill is not None and value is not None:
        found["service_without_inventory"] = 0 if fill != 1 else -1 if value == 1 else 1
    surprises = [
        x
        for x in (stockouts, moved("expedite_cost_sales"), moved("forecast_wape"))
        if x is not None
    ]
    if surprises:
        ups, downs = surprises.count(1), surprises.count(-1)
        found["fewer_surprises"] = -1 if ups >= 2 else 1 if ups == 0 and downs else 0
    dio = moved("days_inventory_outstanding")
    families = [
        family([turns, None if dio is None else -dio]),  # working capital
        family([fill]),  # service
        family([None if stockouts is None else -stockouts]),  # risk: WCaR has no prior
    ]
    if None not in families:
        found["simultaneous_improvement"] = (
            -1 if -1 in families else 1 if families == [1, 1, 1] else 0
        )
    return {name: signal for name, signal in found.items() if signal is not None}


def prior_rows(
    current: Mapping[str, float], prior: Mapping[str, float], settings: KpiSettings
) -> list[Row]:
    """Prior KPIs, change ratios and insights of a window that has a prior window; `current`
    and `prior` are the two windows' figures by metric name."""
    now = {kpi: current.get(metric) for kpi, metric in PRIOR_KPIS.items()}
    before = {kpi: prior.get(metric) for kpi, metric in PRIOR_KPIS.items()}
    rows: list[Row] = []
    for kpi in PRIOR_KPIS:
        if before[kpi] is not None:
            rows.append(("inventory_kpi_prior", before[kpi], {"kpi": kpi}))
            rows.append(("inventory_kpi_change_ratio", change_ratio(now[kpi], before[kpi]),
                         {"kpi": kpi}))  # fmt: skip
    signals = insights(now, before, settings.insight_noise, settings.inventory_tolerance)
    rows += [("inventory_insight", float(s), {"insight": name}) for name, s in signals.items()]
    return rows


# --- cohorts --------------------------------------------------------------------------------


def _policies(loc: _Location) -> dict[str, list[tuple[float, str, str]]]:
    """Per SKU, its policies applied as `(time, event id, recommendation id or "")`, sorted."""
    found: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for applied in loc.applied:  # sorted by time, then event id
        found[applied.sku].append(
            (ts(applied.occurred_at), applied.event_id, applied.recommendation_id or "")
        )
    return found


def cohort_rows(w: _Window) -> list[Row]:
    """Units ordered and shipped, COGS and average value of the window by policy source."""
    loc = w.loc
    policies, overridden = _policies(loc), loc.overridden
    ordered: dict[str, list[float]] = {source: [] for source in SOURCES}
    shipped: dict[str, list[float]] = {source: [] for source in SOURCES}
    for order in loc.live_orders:
        if not w.contains(ts(order.promised_at)):
            continue
        placed = ts(order.occurred_at)
        for line in order.lines:
            source = policy_source(policies.get(line.sku, []), placed, overridden)
            sent = loc.shipped_by_line.get((order.order_id, line.line_id), 0.0)
            ordered[source].append(line.quantity)
            shipped[source].append(min(sent, line.quantity))

    size, arrival = loc.size, loc.arrival
    k_open = bucket_of(arrival.open_from, size)

    def source_of(sku: str, k: int) -> str:
        if k < k_open:
            return arrival.cohorts.get((sku, k), NONE)
        return policy_source(policies.get(sku, []), k * size, overridden)

    integral: dict[str, list[float]] = {source: [] for source in SOURCES}
    cogs: dict[str, list[float]] = {source: [] for source in SOURCES}
    buckets = range(bucket_of(w.start, size), bucket_of(w.end, size) + 1)
    if w.days > 0:
        for k in buckets:
            a, b = max(k * size, w.start), min((k + 1) * size, w.end)
            for sku in loc.known_skus:
                integral[source_of(sku, k)].append(loc.integral(sku, a, b))
    for dispatch in w.dispatches:
        k = bucket_of(ts(dispatch.occurred_at), size)
        for item in dispatch.lines:
            cogs[source_of(item.sku, k)].append(loc.line_cost(dispatch, item))
    judged = not any(k in buckets for _sku, k in arrival.unsettled)

    rows: list[Row] = []
    for source in SOURCES:
        labels = {"policy_source": source}
        rows += [
            ("inventory_cohort_units_ordered", math.fsum(ordered[source]), labels),
            ("inventory_cohort_units_shipped", math.fsum(shipped[source]), labels),
            ("inventory_cohort_cogs_dollars",
             math.fsum(cogs[source]) if judged else NOT_JUDGED, labels),
        ]  # fmt: skip
        if w.days > 0:
            average = math.fsum(integral[source]) / (w.end - w.start) if judged else NOT_JUDGED
            rows.append(("inventory_cohort_average_value_dollars", average, labels))
    return rows
