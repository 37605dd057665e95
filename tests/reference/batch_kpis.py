"""Batch reference of the KPI definitions (docs/KPI_DEFINITIONS.md), for integration tests.

A deliberately simple, brute-force reading of the definitions over a whole event
log: the log is first walked in its order (the processing order) to decide what
SPEC §4.1 decides there (`tests/reference/arrival.py`: late, dropped and
superseded events, episodes frozen when their bucket closed, the counters); then
every figure is recomputed from the events that count by applying the definition
literally (inventory position at time t by scanning the snapshots and
adjustments before t, average value by integrating the exact step function,
stockout episodes by walking the sorted events). It shares no code with the
streaming engine (`streams/core/` is never imported) so that it is an
independent check of what the worker and exporter serve.

API
---
- `compute_with_late(events, settings)` → `compute`'s series and the late counts by
  input topic.
- `compute(events, settings)` → `{(metric name, frozenset(label pairs)): value}` for
  every KPI gauge, counter and service-detail series of docs/METRICS.md, the SPEC §4.3
  ones included (prior-window KPIs, change ratios, insights and policy-source cohorts:
  `tests/reference/periods.py`, readings 18-21), except the histogram buckets (only
  `inventory_time_to_replan_seconds_count`/`_sum`), `inventory_at_risk_days_of_cover`,
  `inventory_projected_stockout_sku_locations`, uncertainty-model-only figures and
  `kpimon_*`. A value of NaN marks a series the reference does not judge (reading 21);
  `compare` skips it.
- `load_jsonl(path)` → the JSON objects of a JSON Lines log.
- `parse_exposition(text)` → the same key shape from a Prometheus text exposition.
- `compare(expected, served, rel_tol_time_weighted=0.01)` → human-readable mismatches
  (empty list = match); `REFERENCE_METRICS` are the names compared,
  `TIME_WEIGHTED_METRICS` those compared within the relative tolerance (and the prior
  KPIs and change ratios whose `kpi` is in `TIME_WEIGHTED_KPIS`, `time_weighted`).
- `valid_events(raw)` → the validated, de-duplicated pydantic events `compute` uses.

`tests/reference/random_log.py` generates a seeded random valid-ish log (timing,
property tests) until the real simulator exists.

Readings chosen where the definitions leave room (to reconcile with the engine)
------------------------------------------------------------------------------
 1. Same-instant snapshot and adjustment: events are ordered by (time, kind rank
    snapshot < adjustment < other, event_id) and `on_hand(t)` is the state after
    every event with time ≤ t. An adjustment at exactly a snapshot's time is
    therefore applied on top of it (the tie order puts it after the snapshot),
    although the literal interval "(snapshot time, t]" would drop it. Two
    snapshots at one instant: the larger event_id wins.
 2. Orders, cancellations, dispatches and deliveries are matched by
    (location, order_id) / (location, shipment_id) — the location is the Kafka
    key, so a location's state has one writer. An order_id placed twice (two
    event_ids) counts once: its earliest placement by (time, event_id). A
    shipment with several `shipment.delivered` counts from its earliest one.
 3. Windowed sums (COGS, sales, expedite cost, forecast Σ|A-F|/ΣA/ΣAPE/periods,
    policy counts, stockout events) are exported for every location and window,
    0 when nothing happened: they are numerators/denominators and 0 is a true
    value. Service-detail series exist only for (region, channel, tier) groups
    with at least one order due in the window; ratios only where the
    denominator is > 0.
 0. Windows (SPEC §4.1): buckets of `bucket_seconds` are UTC-aligned; a window W
    of a location is `[start_W, wm]` with `start_W = bucket_start(wm) - W + bucket`
    (whole buckets: "7d" is today so far and the six days before), covered from
    `max(start_W, first(L))`. Daily demand (CV, std) is per UTC day over the days
    overlapping `[covered start, wm)`. Late events follow `arrival.py`.
 4. `inventory_window_covered_days` is always exported, clamped at 0 (a location
    whose only events lie inside the allowed lateness has wm < first(L)).
    Everything that divides by window days or integrates over the covered span
    (average value, turns, DIO, service per $1M) is absent when it is 0.
 5. Counters (`*_total`) count facts as they are processed, in the order of the
    log given to `compute` (the processing order; the worker replays its store in
    that order): units of the first placement of each order id; every dispatch's
    units and expedite cost; sales at the order line's unit_price of the first
    placement of its order (added when that placement arrives, if after the
    dispatch; 0 while it never does); COGS at the SKU-location's unit cost known
    when the dispatch is processed (its latest snapshot processed so far, by time
    then event_id; a dispatch before any snapshot waits for the first one);
    stockout episodes as they settle (see 6); overrides processed while no
    recommendation with their id was processed at the location. A late event
    never lowers a counter.
 6. Stockout walk (windowed `inventory_stockout_events`, stocked-out now): per SKU
    in event-time order; the position is unknown until its first snapshot or
    adjustment, and an order line meeting an unknown position starts nothing; the
    lines of every kept placement (cancelled later or not) can start an episode.
    The counter: after each processed inventory event or placement, every SKU
    whose walk (over the events processed so far) or settled span changed is
    walked again, its *settled* episodes (those starting at or before the latest
    inventory event time processed at the location) counted, and any increase
    since its last count added.
 7. Demand (expected daily demand, obsolescence, demand CV) and forecast actuals
    exclude cancelled orders. E&O is one point-in-time figure per location (no
    window label): d = units ordered in the 30d model window ÷ its covered days
    (fractional; absent while they are 0); excess = max(0, on_hand -
    excess_cover_days * d) * unit cost; obsolete = the whole value where no
    placement (cancelled or not) names the SKU after wm - obsolete_after_days,
    judged only when wm - first(L) ≥ obsolete_after_days.
 8. Disruption coverage of (location L, sku, supplier S): every filter matches —
    (locations empty or L ∈ locations) AND (skus empty or sku ∈ skus) AND
    (supplier_id absent or supplier_id == S, S known). S is the latest
    supplier_id of the SKU-location in a snapshot or a receipt (by time, then
    event_id). "Active" = reported and no `disruption.resolved` seen (any time).
 9. Supplier lead-time CV uses every receipt of that supplier at any location,
    all seen (not windowed), lead time = occurred_at - ordered_at; needs ≥ 2
    receipts and a mean > 0. Population standard deviation (like demand CV).
10. Time-to-replan: a disruption covers location L when it covers at least one
    SKU-location of L (a SKU named at L by an inventory, order, dispatch or
    receipt event). The observation for (disruption, L) is the first
    `policy.applied` at L, in [occurred_at, earliest resolution), for a
    SKU-location it covers; none once resolved without one. Histogram
    `_count`/`_sum` are exported only for locations with ≥ 1 observation. The
    window median is the ordinary median (mean of the two middle values for an
    even count). Active covering disruptions without an observation are awaiting
    a replan: their count (always exported) and the watermark minus the report
    time of the oldest (clamped at 0; absent when none awaits).
11. Cost-to-service: periods are half-open [k·P, (k+1)·P) (like forecast
    periods), labelled with the UTC date of their start (`YYYY-MM-DD`; an ISO
    timestamp when P is not a whole number of days). The exported points are
    the complete periods inside the 30d window (start ≥ its start_W, end ≤ wm):
    the fill rate where an order is due in the period, the average value where
    the period overlaps the covered span. The slope of window W
    uses the last two complete periods inside W that have both a fill rate and
    an average value; absent when ΔV = 0.
12. Label values are sanitised like the exporter does it per METRICS.md
    (characters outside `[A-Za-z0-9_.:-]` become `_`, 64 chars max); the caps on
    label values (`_other`) are NOT modelled (they depend on arrival order):
    comparison logs must stay under them. Two locations that sanitise to the
    same label raise ValueError.
13. Windows are parsed here (`<number><s|m|h|d|w>`), not by the engine's parser.
14. The watermark only decides window membership. Everything else uses every
    event seen, including those in the allowed-lateness band after wm: the
    forecast of a period (see 16), the dispatches and deliveries of a due order,
    the first covering `policy.applied` after a disruption, active disruptions,
    suppliers, and the current position and value.
15. Expedite cost sums `expedite_cost` of every dispatch in the window whatever
    its `expedited` flag; sales and COGS of dispatches of cancelled orders count
    (the goods did leave).
16. Forecast error: the forecast of a period is the latest published at or before
    its period_start (by time, then event_id); a period without one is skipped.
    Periods whose period_end is in (start_W, wm] count; A is the demand of the
    buckets starting in [period_start, period_end).
17. Planner override rate: the recommendations of the window (each
    recommendation_id once, at its earliest publication) that have a
    `policy.overridden` with the same id at the location, at any time ÷ those
    recommendations.
18-21. Prior windows, insights and cohorts (SPEC §4.3): see `tests/reference/periods.py`.
    A window's prior window (`_PriorWindow`) is read by the same families as the window
    (`PRIOR_FAMILIES`), over `[window start - W, window start)`.

Tolerances in `compare`: exact (1e-9 relative, 1e-9 absolute: the last bits of a
float sum) for everything except TIME_WEIGHTED_METRICS (integrals over time or
values derived from them), which get `rel_tol_time_weighted` (default 1%).
Current value, E&O and working capital at risk are not time-weighted: exact. Of the
SPEC §4.3 series, the cohorts' average values and the prior KPIs and change ratios of
turns, DIO, average value and service per $1M are time-weighted; insights are exact.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, cached_property
from itertools import pairwise
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from streams.events import models as m
from streams.events.decode import Rejection, decode_event
from streams.settings import KpiSettings
from tests.reference import periods
from tests.reference.arrival import Arrival, arrive, bucket_of, walk

Labels = frozenset[tuple[str, str]]
Key = tuple[str, Labels]
Series = dict[Key, float]

DAY = 86400.0
COST_TO_SERVICE_WINDOW_SECONDS = 30 * DAY
MODEL_WINDOW_SECONDS = 30 * DAY  # the uncertainty model's window: expected daily demand d
PER_MILLION = 1_000_000.0

# --- metric names ---------------------------------------------------------------------------

WINDOW_GAUGES: tuple[str, ...] = (
    "inventory_turns_annualized",
    "inventory_days_inventory_outstanding_days",
    "inventory_window_cogs_dollars",
    "inventory_average_value_dollars",
    "inventory_window_covered_days",
    "inventory_fill_rate_ratio",
    "inventory_line_fill_rate_ratio",
    "inventory_otif_ratio",
    "inventory_stockout_events",
    "inventory_forecast_wape_ratio",
    "inventory_forecast_mape_ratio",
    "inventory_forecast_abs_error_units",
    "inventory_forecast_actual_units",
    "inventory_forecast_absolute_percentage_errors",
    "inventory_forecast_periods",
    "inventory_expedite_cost_sales_ratio",
    "inventory_window_expedite_cost_dollars",
    "inventory_window_sales_dollars",
    "inventory_service_level_per_million_dollars",
    "inventory_cost_to_service_slope",
    "inventory_working_capital_at_risk_dollars",
    "inventory_policy_changes_per_sku_location",
    "inventory_window_policy_changes",
    "inventory_planner_override_ratio",
    "inventory_window_policy_overrides",
    "inventory_window_policy_recommendations",
    "inventory_time_to_replan_median_seconds",
)
SERVICE_DETAIL: tuple[str, ...] = (
    "inventory_window_units_ordered",
    "inventory_window_units_shipped",
    "inventory_window_order_lines",
    "inventory_window_order_lines_filled",
    "inventory_window_orders_due",
    "inventory_window_orders_otif",
)
SERVICE_DIMENSIONS: tuple[str, ...] = ("region", "channel", "customer_tier")
SERVICE_BY_DIMENSION: tuple[str, ...] = tuple(
    f"inventory_{kpi}_by_{dim}_ratio" for kpi in ("fill_rate", "otif") for dim in SERVICE_DIMENSIONS
)
POINT_GAUGES: tuple[str, ...] = (
    "inventory_value_dollars",
    "inventory_sku_locations",
    "inventory_stocked_out_sku_locations",
    "inventory_watermark_timestamp_seconds",
    "inventory_cost_to_service_fill_rate_ratio",
    "inventory_cost_to_service_average_value_dollars",
    "inventory_excess_obsolete_ratio",
    "inventory_excess_obsolete_value_dollars",
    "inventory_disruptions_awaiting_replan",
    "inventory_disruption_oldest_unreplanned_age_seconds",
)
COUNTERS: tuple[str, ...] = (
    "inventory_units_ordered_total",
    "inventory_units_shipped_total",
    "inventory_sales_dollars_total",
    "inventory_cogs_dollars_total",
    "inventory_expedite_cost_dollars_total",
    "inventory_stockouts_total",
    "inventory_overrides_unmatched_total",
)
HISTOGRAM_SAMPLES: tuple[str, ...] = (
    "inventory_time_to_replan_seconds_count",
    "inventory_time_to_replan_seconds_sum",
)
PERIOD_GAUGES: tuple[str, ...] = (  # SPEC §4.3, `tests.reference.periods`
    "inventory_kpi_prior",
    "inventory_kpi_change_ratio",
    "inventory_insight",
)
COHORT_GAUGES: tuple[str, ...] = (
    "inventory_cohort_units_ordered",
    "inventory_cohort_units_shipped",
    "inventory_cohort_cogs_dollars",
    "inventory_cohort_average_value_dollars",
)

#: Every sample name `compute` can produce; `compare` ignores served samples outside it.
REFERENCE_METRICS: frozenset[str] = frozenset(
    WINDOW_GAUGES
    + SERVICE_DETAIL
    + SERVICE_BY_DIMENSION
    + POINT_GAUGES
    + COUNTERS
    + HISTOGRAM_SAMPLES
    + PERIOD_GAUGES
    + COHORT_GAUGES
)

#: Figures that integrate inventory value over time, or are derived from such an
#: integral: compared within `rel_tol_time_weighted`. Everything else (counts, unit
#: and dollar sums of events, current value, E&O, working capital at risk, covered
#: days, service and forecast ratios, watermarks, medians, ages) is compared exactly.
TIME_WEIGHTED_METRICS: frozenset[str] = frozenset(
    {
        "inventory_average_value_dollars",
        "inventory_turns_annualized",
        "inventory_days_inventory_outstanding_days",
        "inventory_service_level_per_million_dollars",
        "inventory_cost_to_service_slope",
        "inventory_cost_to_service_average_value_dollars",
        "inventory_cohort_average_value_dollars",
    }
)
#: The `kpi` label values of `inventory_kpi_prior` / `_change_ratio` that are time-weighted
#: (compared within `rel_tol_time_weighted` too).
TIME_WEIGHTED_KPIS: frozenset[str] = frozenset(
    {"turns", "days_inventory_outstanding", "average_inventory_value", "service_per_million"}
)

EXACT_REL_TOL = 1e-9
ABS_TOL = 1e-9

# --- small helpers --------------------------------------------------------------------------

_KIND_RANK = {"inventory.snapshot": 0, "inventory.adjusted": 1}
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY, "w": 7 * DAY}


def parse_window(text: str) -> float:
    """Seconds of a window such as `7d`, `12h`, `90m`, `3600s`, `2w`."""
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(f"unparseable window {text!r}")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def sanitise(value: str) -> str:
    """A label value as METRICS.md says the exporter writes it."""
    return _LABEL_UNSAFE.sub("_", value)[:64]


@cache
def _ts(moment: datetime) -> float:
    """UTC epoch seconds (memoised: `timestamp()` of an offset-aware datetime is slow)."""
    return moment.timestamp()


def _order_key(event: Any) -> tuple[float, int, str]:
    """Total order of events: time, then snapshot < adjustment < other, then event_id."""
    return (_ts(event.occurred_at), _KIND_RANK.get(event.event_type, 2), event.event_id)


def _key(name: str, **labels: str) -> Key:
    return (name, frozenset(labels.items()))


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator != 0 else None


def _put(out: Series, name: str, value: float | None, **labels: str) -> None:
    if value is not None:
        out[_key(name, **labels)] = float(value)


def _cv(values: list[float]) -> float | None:
    """Population coefficient of variation; None with < 2 values or a mean ≤ 0."""
    if len(values) < 2:
        return None
    mean = sum(values) / len(values)
    if mean <= 0:
        return None
    return statistics.pstdev(values) / mean


# --- input ----------------------------------------------------------------------------------


def load_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """The JSON objects of a JSON Lines file; blank, malformed and non-object lines are skipped
    (they would be rejected by validation anyway)."""
    objects: list[dict[str, Any]] = []
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                objects.append(value)
    return objects


def valid_events(raw_events: Iterable[Mapping[str, Any]]) -> list[Any]:
    """Validate each raw event with the pydantic contracts; drop invalid ones, then drop
    repeated event_ids (the first valid one wins)."""
    seen: set[str] = set()
    events: list[Any] = []
    for raw in raw_events:
        decoded = decode_event(json.dumps(raw, ensure_ascii=False).encode("utf-8"))
        if isinstance(decoded, Rejection) or decoded.event_id in seen:
            continue
        seen.add(decoded.event_id)
        events.append(decoded)
    return events


# --- one location's events ------------------------------------------------------------------


@dataclass
class _Location:
    """The events of one location that count (SPEC §4.1), sorted, with plain look-ups over them.

    `arrival` is what the processing order decided (`tests.reference.arrival`): late,
    dropped and superseded events, frozen episodes, counters.
    """

    code: str
    arrival: Arrival
    lateness: float
    size: float
    events: list[Any] = field(default_factory=list)
    inventory: dict[str, list[Any]] = field(default_factory=dict)
    inventory_times: dict[str, list[float]] = field(default_factory=dict)
    orders: dict[str, m.OrderPlaced] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)
    dispatches: list[m.ShipmentDispatched] = field(default_factory=list)
    delivered_at: dict[str, float] = field(default_factory=dict)
    receipts: list[m.InboundReceived] = field(default_factory=list)
    forecasts: list[m.ForecastPublished] = field(default_factory=list)
    applied: list[m.PolicyApplied] = field(default_factory=list)
    recommended: dict[str, m.PolicyRecommended] = field(default_factory=dict)
    overridden: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.events = sorted(self.arrival.accepted, key=_order_key)
        for event in self.events:
            kind = event.event_type
            if kind in ("inventory.snapshot", "inventory.adjusted"):
                self.inventory.setdefault(event.sku, []).append(event)
            elif kind == "order.placed":
                self.orders.setdefault(event.order_id, event)  # earliest placement wins
            elif kind == "order.cancelled":
                self.cancelled.add(event.order_id)
            elif kind == "shipment.dispatched":
                self.dispatches.append(event)
            elif kind == "shipment.delivered":
                self.delivered_at.setdefault(event.shipment_id, _ts(event.occurred_at))
            elif kind == "inbound.received":
                self.receipts.append(event)
            elif kind == "forecast.published":
                self.forecasts.append(event)
            elif kind == "policy.applied":
                self.applied.append(event)
            elif kind == "policy.recommended":
                self.recommended.setdefault(event.recommendation_id, event)  # earliest wins
            elif kind == "policy.overridden":
                self.overridden.add(event.recommendation_id)
        for sku, inventory_events in self.inventory.items():
            self.inventory_times[sku] = [_ts(e.occurred_at) for e in inventory_events]

    # time

    @cached_property
    def watermark(self) -> float:
        return max(self.arrival.clock) - self.lateness

    @cached_property
    def first(self) -> float:
        return min(self.arrival.clock)

    def window_start(self, window: float) -> float:
        """The first instant of a window: its oldest whole bucket's start (SPEC §4.1)."""
        return bucket_of(self.watermark, self.size) * self.size - window + self.size

    def in_window(self, t: float, window: float) -> bool:
        return self.window_start(window) <= t <= self.watermark

    # inventory position

    @property
    def known_skus(self) -> list[str]:
        return sorted(self.inventory)

    def on_hand_at(self, sku: str, t: float) -> float:
        """Latest snapshot with time ≤ t, plus the adjustments after it up to t."""
        events = self.inventory.get(sku, [])
        upto = bisect_right(self.inventory_times.get(sku, []), t)
        adjustments = 0.0
        for event in reversed(events[:upto]):
            if event.event_type == "inventory.snapshot":
                return event.on_hand + adjustments
            adjustments += event.delta
        return adjustments

    def unit_cost_at(self, sku: str, t: float) -> float:
        """Cost of the latest snapshot with time ≤ t; else the first snapshot's; else 0."""
        events = self.inventory.get(sku, [])
        upto = bisect_right(self.inventory_times.get(sku, []), t)
        for event in reversed(events[:upto]):
            if event.event_type == "inventory.snapshot":
                return float(event.unit_cost)
        for event in events:
            if event.event_type == "inventory.snapshot":
                return float(event.unit_cost)
        return 0.0

    def value_at(self, sku: str, t: float) -> float:
        """`max(on_hand, 0) x unit cost`; where a late adjustment reached closed buckets, its
        delta is added without the max (SPEC §4.1 reading, `tests.reference.arrival`)."""
        shifted = sum(d for lo, hi, d in self.arrival.shifts.get(sku, ()) if lo <= t < hi)
        return (max(self.on_hand_at(sku, t) - shifted, 0.0) + shifted) * self.unit_cost_at(sku, t)

    def current_value(self, sku: str) -> float:
        return self.value_at(sku, math.inf)

    def integral(self, sku: str, a: float, b: float) -> float:
        """∫ over [a, b] of the SKU's value, a right-continuous step function."""
        if b <= a:
            return 0.0
        edges = {t for lo, hi, _d in self.arrival.shifts.get(sku, ()) for t in (lo, hi)}
        steps = sorted({t for t in [*self.inventory_times.get(sku, []), *edges] if a < t < b})
        points = [a, *steps, b]
        return sum(self.value_at(sku, left) * (right - left) for left, right in pairwise(points))

    def average_value(self, a: float, b: float) -> float | None:
        if b <= a:
            return None
        return sum(self.integral(sku, a, b) for sku in self.inventory) / (b - a)

    # orders and shipments

    @cached_property
    def live_orders(self) -> list[m.OrderPlaced]:
        """Orders without an `order.cancelled` (any time)."""
        return [o for o in self.orders.values() if o.order_id not in self.cancelled]

    @cached_property
    def dispatches_by_order(self) -> dict[str, list[m.ShipmentDispatched]]:
        by_order: dict[str, list[m.ShipmentDispatched]] = defaultdict(list)
        for dispatch in self.dispatches:
            by_order[dispatch.order_id].append(dispatch)
        return by_order

    @cached_property
    def shipped_by_line(self) -> dict[tuple[str, str], float]:
        shipped: dict[tuple[str, str], float] = defaultdict(float)
        for dispatch in self.dispatches:
            for line in dispatch.lines:
                shipped[(dispatch.order_id, line.line_id)] += line.quantity
        return shipped

    def delivered_by_line(self, order: m.OrderPlaced) -> dict[str, float]:
        """Per line_id, quantity on shipments delivered at or before the order's promise."""
        promised = _ts(order.promised_at)
        delivered: dict[str, float] = defaultdict(float)
        for dispatch in self.dispatches_by_order.get(order.order_id, []):
            at = self.delivered_at.get(dispatch.shipment_id)
            if at is not None and at <= promised:
                for line in dispatch.lines:
                    delivered[line.line_id] += line.quantity
        return delivered

    def unit_price(self, order_id: str, line_id: str) -> float:
        order = self.orders.get(order_id)
        if order is None:
            return 0.0
        for line in order.lines:
            if line.line_id == line_id:
                return float(line.unit_price)
        return 0.0

    def sales(self, dispatch: m.ShipmentDispatched) -> float:
        return sum(
            line.quantity * self.unit_price(dispatch.order_id, line.line_id)
            for line in dispatch.lines
        )

    def line_cost(self, dispatch: m.ShipmentDispatched, line: m.ShipmentLine) -> float:
        """COGS of one dispatch line: its quantity at the unit cost at the dispatch's time (or
        the one the processing order fixed, `tests.reference.arrival`)."""
        cost = self.arrival.prices.get(
            (dispatch.event_id, line.line_id),
            self.unit_cost_at(line.sku, _ts(dispatch.occurred_at)),
        )
        return line.quantity * cost

    def cogs(self, dispatch: m.ShipmentDispatched) -> float:
        return sum(self.line_cost(dispatch, line) for line in dispatch.lines)

    @cached_property
    def demand(self) -> dict[str, list[tuple[float, float]]]:
        """Per SKU, (order time, quantity) of its lines of non-cancelled orders."""
        lines: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for order in self.live_orders:
            for line in order.lines:
                lines[line.sku].append((_ts(order.occurred_at), line.quantity))
        return lines

    def demand_lines(self, sku: str) -> list[tuple[float, float]]:
        return self.demand.get(sku, [])

    @cached_property
    def last_demand(self) -> dict[str, float]:
        """Per SKU, the latest time any placement (cancelled or not) named it."""
        found: dict[str, float] = {}
        for event in self.events:
            if event.event_type == "order.placed":
                for line in event.lines:
                    found[line.sku] = max(found.get(line.sku, -math.inf), _ts(event.occurred_at))
        return found

    # stockouts

    @cached_property
    def stockout_walk(self) -> dict[str, tuple[list[float], bool]]:
        """Per SKU: (episode start times, stocked out at the end), walking its events.

        Episodes of closed buckets are those frozen when the bucket closed; late
        order lines start none (SPEC §4.1).
        """
        lines: dict[str, list[m.OrderPlaced]] = defaultdict(list)
        for order in self.orders.values():  # cancelled ones too: the demand hit the shelf
            for line in order.lines:
                lines[line.sku].append(order)
        open_from = self.arrival.open_from
        result = {}
        for sku in set(self.inventory) | set(lines) | set(self.arrival.frozen):
            starts, out = walk(
                self.inventory.get(sku, []), lines.get(sku, []), self.arrival.late_orders
            )
            frozen = list(self.arrival.frozen.get(sku, []))
            result[sku] = (frozen + [t for t in starts if t >= open_from], out)
        return result

    # suppliers

    def supplier_of(self, sku: str) -> str | None:
        """The latest supplier_id of a snapshot or a receipt of the SKU (by time, event_id)."""
        named = [
            ((_ts(e.occurred_at), e.event_id), str(e.supplier_id))
            for e in [*self.inventory.get(sku, []), *self.receipts]
            if e.sku == sku
            and e.event_type in ("inventory.snapshot", "inbound.received")
            and e.supplier_id is not None
        ]
        return max(named)[1] if named else None

    @cached_property
    def sku_universe(self) -> set[str]:
        """SKUs named at the location by inventory, order, dispatch or receipt events."""
        named = set(self.inventory)
        named |= {
            line.sku for e in self.events if e.event_type == "order.placed" for line in e.lines
        }
        named |= {line.sku for d in self.dispatches for line in d.lines}
        named |= {r.sku for r in self.receipts}
        return named

    # lifetime counters, in processing order

    @property
    def counters(self) -> dict[str, float]:
        """Every `_total` of the location, counted as processed (`tests.reference.arrival`)."""
        return self.arrival.counters


# --- the network ----------------------------------------------------------------------------


@dataclass
class _Network:
    locations: dict[str, _Location]
    disruptions: dict[str, m.DisruptionReported]
    resolved: dict[str, float]  # disruption_id -> earliest resolution time
    lead_times: dict[str, list[float]]

    late: dict[str, int]  # late events by input topic, every location and the network's

    @classmethod
    def build(cls, events: list[Any], settings: KpiSettings) -> _Network:
        lateness = float(settings.allowed_lateness_seconds)
        size = float(settings.bucket_seconds)
        span = max([MODEL_WINDOW_SECONDS] + [parse_window(w) for w in settings.windows])
        arrivals, global_events, late = arrive(events, size, span, lateness)
        disruptions: dict[str, m.DisruptionReported] = {}
        resolved: dict[str, float] = {}
        lead_times: dict[str, list[float]] = defaultdict(list)
        kept = [e for a in arrivals.values() for e in a.accepted] + global_events
        for a in arrivals.values():
            for topic, count in a.late.items():
                late[topic] = late.get(topic, 0) + count
        for event in sorted(kept, key=_order_key):
            if event.event_type == "disruption.reported":
                disruptions.setdefault(event.disruption_id, event)  # earliest report wins
            elif event.event_type == "disruption.resolved":
                resolved.setdefault(event.disruption_id, _ts(event.occurred_at))
            elif event.event_type == "inbound.received":
                lead = _ts(event.occurred_at) - _ts(event.ordered_at)
                lead_times[event.supplier_id].append(lead)
        locations = {code: _Location(code, a, lateness, size) for code, a in arrivals.items()}
        return cls(locations, disruptions, resolved, dict(lead_times), late)

    def active_disruptions(self) -> list[m.DisruptionReported]:
        return [d for d_id, d in self.disruptions.items() if d_id not in self.resolved]

    @staticmethod
    def covers(disruption: m.DisruptionReported, loc: _Location, sku: str) -> bool:
        """Every filter the disruption carries matches the SKU-location (reading 8)."""
        if disruption.locations and loc.code not in disruption.locations:
            return False
        if disruption.skus and sku not in disruption.skus:
            return False
        return disruption.supplier_id is None or disruption.supplier_id == loc.supplier_of(sku)

    def covered_skus(self, disruption: m.DisruptionReported, loc: _Location) -> set[str]:
        """The SKU-locations of `loc` the disruption covers (empty: it does not cover `loc`)."""
        return {sku for sku in loc.sku_universe if self.covers(disruption, loc, sku)}

    def replans(
        self, loc: _Location
    ) -> tuple[list[tuple[m.DisruptionReported, float]], list[float]]:
        """(disruption, seconds to its replan at loc) observed, and the report times of the
        active covering disruptions still awaiting one (reading 10)."""
        observations: list[tuple[m.DisruptionReported, float]] = []
        awaiting: list[float] = []
        for disruption_id, disruption in self.disruptions.items():
            covered = self.covered_skus(disruption, loc)
            if not covered:
                continue
            reported = _ts(disruption.occurred_at)
            until = self.resolved.get(disruption_id, math.inf)
            replans = [
                _ts(a.occurred_at)
                for a in loc.applied
                if reported <= _ts(a.occurred_at) < until and a.sku in covered
            ]
            if replans:
                observations.append((disruption, min(replans) - reported))
            elif disruption_id not in self.resolved:
                awaiting.append(reported)
        return observations, awaiting

    def time_to_replan(self, loc: _Location) -> list[tuple[m.DisruptionReported, float]]:
        """(disruption, seconds to the first covering policy.applied at loc while active)."""
        return self.replans(loc)[0]

    def supplier_volatile(self, supplier: str | None, threshold: float) -> bool:
        if supplier is None:
            return False
        cv = _cv(self.lead_times.get(supplier, []))
        return cv is not None and cv > threshold


# --- the KPIs -------------------------------------------------------------------------------


@dataclass
class _ServiceTally:
    ordered: float = 0.0
    shipped: float = 0.0
    lines: int = 0
    lines_filled: int = 0
    orders: int = 0
    orders_otif: int = 0

    def add(self, other: _ServiceTally) -> None:
        self.ordered += other.ordered
        self.shipped += other.shipped
        self.lines += other.lines
        self.lines_filled += other.lines_filled
        self.orders += other.orders
        self.orders_otif += other.orders_otif


def _service_of_order(loc: _Location, order: m.OrderPlaced) -> _ServiceTally:
    tally = _ServiceTally(orders=1)
    delivered = loc.delivered_by_line(order)
    in_full_on_time = True
    for line in order.lines:
        shipped = min(loc.shipped_by_line.get((order.order_id, line.line_id), 0.0), line.quantity)
        tally.ordered += line.quantity
        tally.shipped += shipped
        tally.lines += 1
        tally.lines_filled += shipped >= line.quantity
        in_full_on_time = in_full_on_time and delivered.get(line.line_id, 0.0) >= line.quantity
    tally.orders_otif = int(in_full_on_time)
    return tally


def _service_groups(
    loc: _Location, orders: list[m.OrderPlaced]
) -> dict[tuple[str, str, str], _ServiceTally]:
    groups: dict[tuple[str, str, str], _ServiceTally] = defaultdict(_ServiceTally)
    for order in orders:
        group = (sanitise(order.region), sanitise(order.channel), sanitise(order.customer_tier))
        groups[group].add(_service_of_order(loc, order))
    return groups


def _fill_rate_of(loc: _Location, orders: list[m.OrderPlaced]) -> float | None:
    total = _ServiceTally()
    for order in orders:
        total.add(_service_of_order(loc, order))
    return _ratio(total.shipped, total.ordered)


def _period_label(start: float, period: float) -> str:
    moment = datetime.fromtimestamp(start, UTC)
    if period % DAY == 0:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _complete_periods(
    loc: _Location, window: float, period: float
) -> list[tuple[str, float | None, float | None]]:
    """(label, fill rate, average value) of complete periods inside the window (start at or
    after its first instant, end at or before the watermark)."""
    wm = loc.watermark
    lo = loc.window_start(window)
    result = []
    k = math.floor(lo / period) - 1
    while (k + 1) * period <= wm:
        start, end = k * period, (k + 1) * period
        if start >= lo:
            fill_rate = _fill_rate_of(
                loc, [o for o in loc.live_orders if start <= _ts(o.promised_at) < end]
            )
            average = loc.average_value(max(start, loc.first), end)
            result.append((_period_label(start, period), fill_rate, average))
        k += 1
    return result


Row = tuple[str, float | None, dict[str, str]]


def _row(name: str, value: float | None, **extra_labels: str) -> Row:
    return (name, value, extra_labels)


@dataclass
class _Window:
    """One window of one location: whole buckets `[window start, wm]`, covered from `start`.

    `_PriorWindow` is its prior window, `[window start - W, window start)`; the families
    below read the bounds through `first_instant`, `end` and `contains` only.
    """

    net: _Network
    loc: _Location
    settings: KpiSettings
    label: str
    seconds: float

    @property
    def wm(self) -> float:
        return self.loc.watermark

    @property
    def first_instant(self) -> float:
        """`bucket_start(wm) - W + bucket` (SPEC §4.1)."""
        return self.loc.window_start(self.seconds)

    @property
    def end(self) -> float:
        """Its last instant: the watermark (included)."""
        return self.wm

    @property
    def start(self) -> float:
        return max(self.first_instant, self.loc.first)

    @property
    def days(self) -> float:
        """Covered window days, clamped at 0."""
        return max(self.end - self.start, 0.0) / DAY

    def contains(self, t: float) -> bool:
        return self.loc.in_window(t, self.seconds)

    @cached_property
    def events(self) -> list[Any]:
        return [e for e in self.loc.events if self.contains(_ts(e.occurred_at))]

    def count(self, event_type: str) -> int:
        return sum(1 for e in self.events if e.event_type == event_type)

    @cached_property
    def dispatches(self) -> list[m.ShipmentDispatched]:
        return [e for e in self.events if e.event_type == "shipment.dispatched"]

    @cached_property
    def average_value(self) -> float | None:
        return self.loc.average_value(self.start, self.end) if self.days > 0 else None

    @cached_property
    def service_groups(self) -> dict[tuple[str, str, str], _ServiceTally]:
        due = [o for o in self.loc.live_orders if self.contains(_ts(o.promised_at))]
        return _service_groups(self.loc, due)

    @cached_property
    def fill_rate(self) -> float | None:
        total = _ServiceTally()
        for tally in self.service_groups.values():
            total.add(tally)
        return _ratio(total.shipped, total.ordered)


class _PriorWindow(_Window):
    """The prior window of a window (SPEC §4.3): the same number of whole buckets just before
    its first one, `[window start - W, window start)`, covered from `max(that, first(L))`."""

    @property
    def first_instant(self) -> float:
        return self.loc.window_start(self.seconds) - self.seconds

    @property
    def end(self) -> float:
        """The window's first instant (excluded)."""
        return self.loc.window_start(self.seconds)

    def contains(self, t: float) -> bool:
        return self.first_instant <= t < self.end

    @property
    def exists(self) -> bool:
        """Once the location's data began in its first bucket or before."""
        return self.loc.first < self.first_instant + self.loc.size


def _working_capital(w: _Window) -> list[Row]:
    cogs = sum(w.loc.cogs(d) for d in w.dispatches)
    rows = [
        _row("inventory_window_covered_days", w.days),
        _row("inventory_window_cogs_dollars", cogs),
        _row("inventory_average_value_dollars", w.average_value),
    ]
    if w.average_value is not None:
        turns, dio = _ratio(cogs, w.average_value), _ratio(w.average_value, cogs)
        rows += [
            _row("inventory_turns_annualized", None if turns is None else turns * 365 / w.days),
            _row(
                "inventory_days_inventory_outstanding_days", None if dio is None else dio * w.days
            ),
        ]
    return rows


def _expected_daily_demand(loc: _Location, sku: str) -> float | None:
    """d: units ordered in the 30d model window ÷ its covered days (None while 0 days)."""
    wm = loc.watermark
    start = max(loc.window_start(MODEL_WINDOW_SECONDS), loc.first)
    days = (wm - start) / DAY
    if days <= 0:
        return None
    return math.fsum(q for t, q in loc.demand_lines(sku) if start <= t <= wm) / days


def _excess_obsolete(loc: _Location, settings: KpiSettings) -> list[Row]:
    """One point-in-time E&O figure of the location (reading 7)."""
    wm = loc.watermark
    if wm - max(loc.window_start(MODEL_WINDOW_SECONDS), loc.first) <= 0:
        return []
    obsolete_seconds = settings.obsolete_after_days * DAY
    judged = wm - loc.first >= obsolete_seconds
    parts: list[float] = []
    for sku in loc.known_skus:
        if loc.current_value(sku) <= 0:
            continue
        if judged and loc.last_demand.get(sku, -math.inf) <= wm - obsolete_seconds:
            parts.append(loc.current_value(sku))  # obsolete: all of it
            continue
        daily = _expected_daily_demand(loc, sku) or 0.0
        excess_units = max(0.0, loc.on_hand_at(sku, math.inf) - settings.excess_cover_days * daily)
        parts.append(excess_units * loc.unit_cost_at(sku, math.inf))
    value = math.fsum(parts)
    current = math.fsum(loc.current_value(sku) for sku in loc.known_skus)
    return [
        _row("inventory_excess_obsolete_value_dollars", value),
        _row("inventory_excess_obsolete_ratio", _ratio(value, current)),
    ]


def _service(w: _Window) -> list[Row]:
    rows: list[Row] = []
    total = _ServiceTally()
    for (region, channel, tier), tally in w.service_groups.items():
        total.add(tally)
        group = {"region": region, "channel": channel, "customer_tier": tier}
        rows += [
            _row("inventory_window_units_ordered", tally.ordered, **group),
            _row("inventory_window_units_shipped", tally.shipped, **group),
            _row("inventory_window_order_lines", tally.lines, **group),
            _row("inventory_window_order_lines_filled", tally.lines_filled, **group),
            _row("inventory_window_orders_due", tally.orders, **group),
            _row("inventory_window_orders_otif", tally.orders_otif, **group),
        ]
    rows += [
        _row("inventory_fill_rate_ratio", _ratio(total.shipped, total.ordered)),
        _row("inventory_line_fill_rate_ratio", _ratio(total.lines_filled, total.lines)),
        _row("inventory_otif_ratio", _ratio(total.orders_otif, total.orders)),
    ]
    for index, dim in enumerate(SERVICE_DIMENSIONS):
        by_dim: dict[str, _ServiceTally] = defaultdict(_ServiceTally)
        for group_key, tally in w.service_groups.items():
            by_dim[group_key[index]].add(tally)
        for value, tally in by_dim.items():
            rows += [
                _row(f"inventory_fill_rate_by_{dim}_ratio", tally.shipped / tally.ordered, **{dim: value}),  # noqa: E501
                _row(f"inventory_otif_by_{dim}_ratio", tally.orders_otif / tally.orders, **{dim: value}),  # noqa: E501
            ]  # fmt: skip
    return rows


def _stockouts(w: _Window) -> list[Row]:
    starts = [t for starts, _ in w.loc.stockout_walk.values() for t in starts]
    return [_row("inventory_stockout_events", sum(1 for t in starts if w.contains(t)))]


def _forecast_error(w: _Window) -> list[Row]:
    latest: dict[tuple[str, float, float], m.ForecastPublished] = {}
    for forecast in w.loc.forecasts:  # sorted by (time, event_id): later ones overwrite
        if _ts(forecast.occurred_at) > _ts(forecast.period_start):
            continue  # published after the period began: cannot rewrite the score
        latest[(forecast.sku, _ts(forecast.period_start), _ts(forecast.period_end))] = forecast
    abs_error = actual_sum = ape_sum = 0.0
    periods_with_actual = 0
    size = w.loc.size
    for (sku, period_start, period_end), forecast in latest.items():
        if not w.first_instant < period_end <= w.end:
            continue
        # On the bucket grid: the lines of the buckets starting in [period_start, period_end).
        lo, hi = math.ceil(period_start / size), math.ceil(period_end / size)
        actual = sum(q for t, q in w.loc.demand_lines(sku) if lo <= bucket_of(t, size) < hi)
        error = abs(actual - forecast.quantity)
        abs_error += error
        actual_sum += actual
        if actual > 0:
            ape_sum += error / actual
            periods_with_actual += 1
    return [
        _row("inventory_forecast_abs_error_units", abs_error),
        _row("inventory_forecast_actual_units", actual_sum),
        _row("inventory_forecast_absolute_percentage_errors", ape_sum),
        _row("inventory_forecast_periods", periods_with_actual),
        _row("inventory_forecast_wape_ratio", _ratio(abs_error, actual_sum)),
        _row("inventory_forecast_mape_ratio", _ratio(ape_sum, periods_with_actual)),
    ]


def _expedites(w: _Window) -> list[Row]:
    expedite = sum(d.expedite_cost for d in w.dispatches)
    sales = sum(w.loc.sales(d) for d in w.dispatches)
    return [
        _row("inventory_window_expedite_cost_dollars", expedite),
        _row("inventory_window_sales_dollars", sales),
        _row("inventory_expedite_cost_sales_ratio", _ratio(expedite, sales)),
    ]


def _service_per_million(w: _Window) -> list[Row]:
    if w.fill_rate is None or not w.average_value:
        return []
    per_million = w.fill_rate / (w.average_value / PER_MILLION)
    return [_row("inventory_service_level_per_million_dollars", per_million)]


def _cost_to_service(w: _Window) -> list[Row]:
    rows: list[Row] = []
    period = float(w.settings.cost_to_service_period_seconds)
    points = [
        (fill_rate, value)
        for _, fill_rate, value in _complete_periods(w.loc, w.seconds, period)
        if fill_rate is not None and value is not None
    ]
    if len(points) >= 2:
        (fill_before, value_before), (fill_last, value_last) = points[-2:]
        slope = _ratio(fill_last - fill_before, (value_last - value_before) / PER_MILLION)
        rows.append(_row("inventory_cost_to_service_slope", slope))
    return rows


def _demand_cv(w: _Window, sku: str) -> float | None:
    """CV of the ordered quantity per UTC day, over the days overlapping `[start, wm)` (an order
    exactly at a midnight watermark joins the day before)."""
    if w.wm <= w.start:
        return None
    first = math.floor(w.start / DAY)
    last = math.ceil(w.wm / DAY) - 1
    daily = [0.0] * (last - first + 1)
    for t, q in w.loc.demand_lines(sku):
        if w.first_instant <= t <= w.wm:
            daily[min(math.floor(t / DAY), last) - first] += q
    return _cv(daily)


def _working_capital_at_risk(w: _Window) -> list[Row]:
    at_risk = 0.0
    for sku in w.loc.known_skus:
        demand_cv = _demand_cv(w, sku)
        if (
            (demand_cv is not None and demand_cv > w.settings.cv_threshold)
            or w.net.supplier_volatile(w.loc.supplier_of(sku), w.settings.lead_time_cv_threshold)
            or any(w.net.covers(d, w.loc, sku) for d in w.net.active_disruptions())
        ):
            at_risk += w.loc.current_value(sku)
    return [_row("inventory_working_capital_at_risk_dollars", at_risk)]


def _planning(w: _Window) -> list[Row]:
    changes = w.count("policy.applied")
    in_window = [rid for rid, r in w.loc.recommended.items() if w.contains(_ts(r.occurred_at))]
    recommendations = len(in_window)
    overrides = sum(1 for rid in in_window if rid in w.loc.overridden)
    replans = [
        seconds
        for disruption, seconds in w.net.time_to_replan(w.loc)
        if w.contains(_ts(disruption.occurred_at))
    ]
    return [
        _row("inventory_window_policy_changes", changes),
        _row("inventory_policy_changes_per_sku_location", _ratio(changes, len(w.loc.known_skus))),
        _row("inventory_window_policy_overrides", overrides),
        _row("inventory_window_policy_recommendations", recommendations),
        _row("inventory_planner_override_ratio", _ratio(overrides, recommendations)),
        _row(
            "inventory_time_to_replan_median_seconds",
            statistics.median(replans) if replans else None,
        ),
    ]


WINDOW_FAMILIES = (
    _working_capital,
    _service,
    _stockouts,
    _forecast_error,
    _expedites,
    _service_per_million,
    _cost_to_service,
    _working_capital_at_risk,
    _planning,
)
#: What a prior window reads (SPEC §4.3: no point-in-time figure, no cost-to-service slope).
PRIOR_FAMILIES = tuple(
    family
    for family in WINDOW_FAMILIES
    if family not in (_cost_to_service, _working_capital_at_risk)
)


def _point_in_time(net: _Network, loc: _Location, settings: KpiSettings) -> list[Row]:
    """Per-location series without a window: current state, E&O, lifetime counters, replans."""
    walk = loc.stockout_walk
    rows = [
        _row("inventory_value_dollars", math.fsum(loc.current_value(s) for s in loc.known_skus)),
        _row("inventory_sku_locations", len(loc.known_skus)),
        _row("inventory_stocked_out_sku_locations", sum(out for _, out in walk.values())),
        _row("inventory_watermark_timestamp_seconds", loc.watermark),
        *_excess_obsolete(loc, settings),
        *(_row(name, total) for name, total in loc.counters.items()),
    ]
    period = float(settings.cost_to_service_period_seconds)
    for label, fill_rate, value in _complete_periods(loc, COST_TO_SERVICE_WINDOW_SECONDS, period):
        rows += [
            _row("inventory_cost_to_service_fill_rate_ratio", fill_rate, period=label),
            _row("inventory_cost_to_service_average_value_dollars", value, period=label),
        ]
    observations, awaiting = net.replans(loc)
    replans = [seconds for _, seconds in observations]
    if replans:
        rows += [
            _row("inventory_time_to_replan_seconds_count", len(replans)),
            _row("inventory_time_to_replan_seconds_sum", math.fsum(replans)),
        ]
    rows.append(_row("inventory_disruptions_awaiting_replan", len(awaiting)))
    if awaiting:
        age = max(0.0, loc.watermark - min(awaiting))
        rows.append(_row("inventory_disruption_oldest_unreplanned_age_seconds", age))
    return rows


def _figures(w: _Window, families: tuple[Any, ...]) -> tuple[list[Row], dict[str, float]]:
    """The rows of a window's families, and its location-wide figures by metric name (the
    service counts summed over its groups, 0 without any)."""
    rows = [row for family in families for row in family(w)]
    figures = {name: value for name, value, extra in rows if not extra and value is not None}
    for name in SERVICE_DETAIL:
        figures[name] = math.fsum(
            value for found, value, extra in rows if found == name and extra and value is not None
        )
    return rows, figures


def _location_kpis(net: _Network, loc: _Location, settings: KpiSettings, out: Series) -> None:
    location = sanitise(loc.code)
    for name, value, extra in _point_in_time(net, loc, settings):
        _put(out, name, value, location=location, **extra)
    for label in settings.windows:
        window = _Window(net, loc, settings, label, parse_window(label))
        rows, current = _figures(window, WINDOW_FAMILIES)
        prior = _PriorWindow(net, loc, settings, label, window.seconds)
        if prior.exists:
            rows += periods.prior_rows(current, _figures(prior, PRIOR_FAMILIES)[1], settings)
        rows += periods.cohort_rows(window)
        for name, value, extra in rows:
            _put(out, name, value, location=location, window=label, **extra)


def compute(events: list[dict[str, Any]], settings: KpiSettings) -> Series:
    """Every reference series of a raw event log: (metric name, label pairs) → value."""
    return compute_with_late(events, settings)[0]


def compute_with_late(
    events: list[dict[str, Any]], settings: KpiSettings
) -> tuple[Series, dict[str, int]]:
    """`compute`, and the events counted late by input topic (SPEC §4.1)."""
    valid = valid_events(events)
    net = _Network.build(valid, settings)
    labels = [sanitise(code) for code in net.locations]
    if len(set(labels)) != len(labels):
        raise ValueError("two location codes sanitise to the same label value")
    out: Series = {}
    for loc in net.locations.values():
        _location_kpis(net, loc, settings, out)
    return out, dict(sorted(net.late.items()))


# --- served metrics and comparison ----------------------------------------------------------


def parse_exposition(text: str) -> Series:
    """Samples of a Prometheus text exposition in `compute`'s key shape (`_created` dropped)."""
    series: Series = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            series[(sample.name, frozenset(sample.labels.items()))] = float(sample.value)
    return series


def format_key(key: Key) -> str:
    name, labels = key
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels))
    return f"{name}{{{inner}}}"


def time_weighted(key: Key) -> bool:
    """Whether a series integrates inventory value over time (or derives from such a figure)."""
    name, labels = key
    if name in ("inventory_kpi_prior", "inventory_kpi_change_ratio"):
        return dict(labels).get("kpi") in TIME_WEIGHTED_KPIS
    return name in TIME_WEIGHTED_METRICS


def compare(expected: Series, served: Series, rel_tol_time_weighted: float = 0.01) -> list[str]:
    """Mismatches between the reference and what was served, one readable line each.

    Only served samples whose name is in REFERENCE_METRICS are considered (pipeline
    metrics, histogram buckets and uncertainty-model gauges are ignored). Names in
    TIME_WEIGHTED_METRICS (and prior KPIs and change ratios of TIME_WEIGHTED_KPIS) are
    compared within `rel_tol_time_weighted`, the rest within 1e-9 relative; a series
    present on one side only is a mismatch. A series the reference does not judge
    (NaN: `tests.reference.periods`, reading 21) is skipped, served or not.
    """
    served = {k: v for k, v in served.items() if k[0] in REFERENCE_METRICS}
    problems: list[str] = []
    for key in sorted(expected.keys() | served.keys(), key=format_key):
        shown = format_key(key)
        if key in expected and math.isnan(expected[key]):
            continue
        if key not in served:
            problems.append(f"missing: {shown} expected {expected[key]!r}, not served")
            continue
        if key not in expected:
            problems.append(f"extra: {shown} served {served[key]!r}, reference has none")
            continue
        want, got = expected[key], served[key]
        tolerance = rel_tol_time_weighted if time_weighted(key) else EXACT_REL_TOL
        if not math.isclose(want, got, rel_tol=tolerance, abs_tol=ABS_TOL):
            relative = abs(got - want) / max(abs(want), abs(got))
            problems.append(
                f"differs: {shown} expected {want!r}, served {got!r} "
                f"(relative difference {relative:.3g}, tolerance {tolerance:g})"
            )
    return problems
