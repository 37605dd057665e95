"""Compute every KPI of one location from its state (docs/KPI_DEFINITIONS.md).

Called only for locations that changed since the last report. Sums run over
canonically ordered data or through `math.fsum`, so the figures are the same
for any arrival order of the same events and before and after pruning.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from streams.core.coverage import LocationCoverage
from streams.core.demand import DemandSeries
from streams.core.figures import MILLION, LocationFigures, PeriodPoint, WindowFigures
from streams.core.location import LocationState
from streams.core.orders import ServiceBook
from streams.core.planning import DisruptionBook
from streams.core.ratios import coefficient_of_variation
from streams.core.replan import replan_status
from streams.core.service import Row, period_fill_rates, population
from streams.core.sku_location import SkuLocation
from streams.core.uncertainty import LeadTime, LeadTimeBook, outlook
from streams.core.views import SkuLocationView
from streams.core.windows import DAY, complete_periods, covered_span, day_count, period_label
from streams.settings import KpiSettings

UNCERTAINTY_WINDOW = 30 * DAY
"""Span of the uncertainty model and of the cost-to-service points (the 30d window).

The model's expected daily demand `d` feeds days of cover, safety stock, the
projected stockout and E&O alike, so E&O does not depend on a KPI window.
"""


@dataclass
class Context:
    """Engine-wide state a location report reads."""

    settings: KpiSettings
    windows: tuple[tuple[str, float], ...]  # (label, seconds)
    z: float
    book: ServiceBook
    suppliers: LeadTimeBook[str]
    own_receipts: LeadTimeBook[tuple[str, str]]
    disruptions: DisruptionBook

    def lead_time(self, sl: SkuLocation) -> LeadTime | None:
        """Supplier's receipts, else the SKU-location's own, else None (use the default)."""
        supplier = sl.supplier
        if supplier is not None:
            found = self.suppliers.stats(supplier)
            if found.receipts:
                return found
        own = self.own_receipts.stats((sl.location, sl.sku))
        return own if own.receipts else None


def _counters(state: LocationState) -> tuple[tuple[str, float], ...]:
    """Lifetime counters, as processed (streams.core.counters)."""
    return (
        *state.counters.totals(),
        ("inventory_overrides_unmatched_total", float(state.planning.unmatched_overrides)),
    )


def _view(
    sl: SkuLocation,
    daily: list[float],
    covered_days: float,
    wm: float,
    ctx: Context,
    book: ServiceBook,
) -> SkuLocationView:
    """The SKU-location's current position and uncertainty model (30d demand buckets).

    `covered_days` is the covered part of the 30d model window (fractional days),
    `wm` the location's watermark, from which the projected stockout is counted.
    """
    walk = sl.ledger.current
    model = outlook(
        daily,
        covered_days,
        ctx.lead_time(sl),
        ctx.settings.default_lead_time_days,
        walk.on_hand,
        walk.in_transit,
        wm,
        ctx.z,
    )
    return SkuLocationView(
        location=sl.location,
        sku=sl.sku,
        sku_class=sl.sku_class[2] if sl.sku_class is not None else None,
        supplier_id=sl.supplier,
        on_hand=walk.on_hand,
        in_transit=walk.in_transit,
        unit_cost=sl.ledger.unit_cost,
        value=sl.ledger.value,
        stocked_out=walk.stocked_out,
        stockout_started_at=walk.open_since,
        expected_daily_demand=model.daily_demand,
        demand_std=model.demand_std,
        lead_time_days=model.lead_time_days,
        lead_time_std_days=model.lead_time_std_days,
        days_of_cover=model.days_of_cover,
        safety_stock=model.safety_stock,
        projected_stockout_at=model.projected_stockout_at,
        at_risk=model.at_risk,
        has_open_strategic_orders=sl.has_open_strategic_orders(book),
        last_event_at=sl.last_event_at,
    )


def _periods(
    state: LocationState,
    rows: list[Row],
    skus: list[SkuLocation],
    wm: float,
    span: float,
    period: float,
) -> list[PeriodPoint]:
    """Complete cost-to-service periods strictly inside the span: start > wm - span, end <= wm.

    `rows` are the orders due in `(wm - span, wm]`, by promised time.
    """
    starts = [start for start in complete_periods(wm, period, wm - span) if start > wm - span]
    if not starts:
        return []
    promised = [row[0] for row in rows]
    rows = rows[bisect_left(promised, starts[0]) : bisect_left(promised, starts[-1] + period)]
    points: list[PeriodPoint] = []
    for start, rate in zip(starts, period_fill_rates(rows, starts, period), strict=True):
        end = start + period
        a = max(start, state.first_at)
        average = None
        if end > a:
            area = state.period_values.get((a, end))
            if area is None:
                area = math.fsum(sl.ledger.integral(a, end) for sl in skus)
                state.period_values[(a, end)] = area
            average = area / (end - a)
        points.append(PeriodPoint(start, period_label(start, period), rate, average))
    return points


def _slope(points: list[PeriodPoint], lo: float) -> float | None:
    """ΔFR ÷ (ΔV ÷ 1e6) between the last two periods after `lo` with a fill rate and a value."""
    usable = [
        p
        for p in points
        if p.start > lo and p.fill_rate is not None and p.average_value is not None
    ]
    if len(usable) < 2:
        return None
    before, last = usable[-2], usable[-1]
    delta_value = last.average_value - before.average_value  # type: ignore[operator]
    if delta_value == 0:
        return None
    return (last.fill_rate - before.fill_rate) / (delta_value / MILLION)  # type: ignore[operator]


def _volatile(sl: SkuLocation, daily: list[float], ctx: Context, disrupted: frozenset[str]) -> bool:
    """Whether the SKU-location's value is working capital at risk.

    Demand CV over the window's daily buckets, or the lead-time CV of its
    supplier (every receipt seen), or an active disruption covering it
    (`disrupted`: the SKUs of the location some active disruption covers).
    """
    s = ctx.settings
    cv = coefficient_of_variation(daily)
    if cv is not None and cv > s.cv_threshold:
        return True
    supplier = sl.supplier
    if supplier is not None:
        lead_cv = ctx.suppliers.stats(supplier).cv
        if lead_cv is not None and lead_cv > s.lead_time_cv_threshold:
            return True
    return sl.sku in disrupted


def _excess_obsolete(
    skus: list[SkuLocation],
    views: tuple[SkuLocationView, ...],
    ctx: Context,
    wm: float,
    judged: bool,
) -> float:
    """E&O value ($), one point-in-time figure of the location.

    Obsolete (judged only once the location's data spans `obsolete_after_days`):
    the whole value of a SKU-location without demand in the last
    `obsolete_after_days`. Excess, for the others: the part of on_hand above
    `excess_cover_days` x the model's expected daily demand, at its unit cost.
    """
    s = ctx.settings
    horizon = wm - s.obsolete_after_days * DAY
    parts: list[float] = []
    for sl, view in zip(skus, views, strict=True):
        value = sl.ledger.value
        if value <= 0:
            continue
        if judged and not sl.demand.any_between(horizon, wm):
            parts.append(value)
            continue
        excess = max(
            0.0, sl.ledger.current.on_hand - s.excess_cover_days * view.expected_daily_demand
        )
        parts.append(excess * sl.ledger.unit_cost)
    return math.fsum(parts)


@dataclass
class _Scene:
    """What every window of one location reads, computed once per report."""

    state: LocationState
    ctx: Context
    wm: float
    skus: list[SkuLocation]
    daily: list[list[float]]  # per SKU-location, demand per day back from wm
    value: float
    known: int
    disrupted: frozenset[str]  # SKUs an active disruption covers here
    replans: tuple[tuple[float, float], ...]  # (reported_at, seconds to the replan)
    rows: list[Row]  # orders due over the longest span
    promised: list[float]
    points: list[PeriodPoint]

    def demand_of(self, sku: str) -> DemandSeries | None:
        found = self.state.skus.get(sku)
        return found.demand if found is not None else None


def _window(
    scene: _Scene, label: str, seconds: float, start: float, covered: float
) -> WindowFigures:
    """The KPIs of one trailing window `(wm - seconds, wm]` covered from `start`."""
    state, ctx, wm, skus = scene.state, scene.ctx, scene.wm, scene.skus
    lo, days = wm - seconds, covered / DAY
    n_days = day_count(days)
    applied, overrides, recommendations = state.planning.counts(lo, wm)
    dispatches = state.dispatches.between(lo, wm)
    at_risk = [
        sl.ledger.value
        for sl, d in zip(skus, scene.daily, strict=True)
        if sl.ledger.value > 0 and _volatile(sl, d[:n_days], ctx, scene.disrupted)
    ]
    return WindowFigures(
        window=label,
        covered_days=days,
        cogs=math.fsum(sl.ledger.cogs_between(lo, wm) for sl in skus),
        average_value=(
            math.fsum(sl.ledger.integral(start, wm) for sl in skus) / covered if covered else None
        ),
        current_value=scene.value,
        service=population(scene.rows[bisect_right(scene.promised, lo) :]),
        stockouts=sum(sl.ledger.starts_between(lo, wm) for sl in skus),
        forecast=state.forecasts.error(lo, wm, scene.demand_of),
        expedite_cost=math.fsum(d.expedite_cost for d in dispatches),
        sales=math.fsum(state.dispatch_sales[d.event_id] for d in dispatches),
        cost_to_service_slope=_slope(scene.points, lo),
        working_capital_at_risk=math.fsum(at_risk),
        policy_changes=applied,
        sku_locations=scene.known,
        overrides=overrides,
        recommendations=recommendations,
        replans=tuple(x for t, x in scene.replans if lo < t <= wm),
    )


def location_figures(state: LocationState, ctx: Context) -> LocationFigures:
    """Every KPI of the location at its current watermark."""
    state.settle()
    s, book = ctx.settings, ctx.book
    wm, first = state.watermark(s.allowed_lateness_seconds), state.first_at
    skus = [state.skus[k] for k in sorted(state.skus)]
    edge = math.inf  # the earliest time any value changed since the last report
    for sl in skus:
        sl.build(book)
        edge = min(edge, sl.revalued_from)
        sl.revalued_from = math.inf
    state.period_values = {k: v for k, v in state.period_values.items() if k[1] <= edge}
    state.price_dispatches(book)
    spans = [covered_span(wm, seconds, first) for _label, seconds in ctx.windows]
    model_covered = covered_span(wm, UNCERTAINTY_WINDOW, first)[1] / DAY  # fractional days
    model_days = day_count(model_covered)
    most_days = max([model_days] + [day_count(seconds / DAY) for _start, seconds in spans])
    daily = [sl.demand.daily(wm, most_days) for sl in skus]
    span = max([UNCERTAINTY_WINDOW] + [seconds for _label, seconds in ctx.windows])
    rows = state.orders.rows(book, wm - span, wm)  # every window and period is a part of these
    coverage = LocationCoverage(state.code, state.skus)
    status = replan_status(state, ctx.disruptions, coverage)
    value = math.fsum(sl.ledger.value for sl in skus)
    scene = _Scene(
        state=state,
        ctx=ctx,
        wm=wm,
        skus=skus,
        daily=daily,
        value=value,
        known=sum(sl.known for sl in skus),
        disrupted=coverage.disrupted(ctx.disruptions.active()),
        replans=status.observations,
        rows=rows,
        promised=[row[0] for row in rows],
        points=_periods(state, rows, skus, wm, span, s.cost_to_service_period_seconds),
    )
    views = tuple(
        _view(sl, d[:model_days], model_covered, wm, ctx, book)
        for sl, d in zip(skus, daily, strict=True)
    )
    judged = wm - first >= s.obsolete_after_days * DAY
    return LocationFigures(
        location=state.code,
        watermark=wm,
        value=value,
        sku_locations=scene.known,
        excess_obsolete=_excess_obsolete(skus, views, ctx, wm, judged)
        if model_covered > 0
        else None,
        windows=tuple(
            _window(scene, label, seconds, start, covered)
            for (label, seconds), (start, covered) in zip(ctx.windows, spans, strict=True)
        ),
        views=views,
        periods=tuple(p for p in scene.points if p.start > wm - UNCERTAINTY_WINDOW),
        replans=tuple(sorted(x for _t, x in scene.replans)),
        awaiting_replan=status.awaiting,
        oldest_awaiting_at=status.oldest_awaiting,
        counters=_counters(state),
    )
