"""Compute every KPI of one location from its state (docs/KPI_DEFINITIONS.md).

Called only for locations that changed since the last report. A window's
figure is the sum of its closed buckets (`BucketColumns`, one number per
bucket) plus the open buckets' raw part up to the watermark, so the cost of a
report grows with SKU-locations and buckets, not with events. Sums run over
canonically ordered data or through `math.fsum`, so the figures are the same
for any arrival order of the events of open buckets.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass, field, replace

from streams.core.cohorts import LineColumns, line_sources
from streams.core.columns import COGS, EXPEDITE, INTEGRAL, SALES, cohort_column
from streams.core.context import UNCERTAINTY_WINDOW, Context
from streams.core.coverage import LocationCoverage
from streams.core.demand import daily_demand
from streams.core.figures import (
    COHORTS,
    MILLION,
    CohortFigures,
    LocationFigures,
    PeriodPoint,
    WindowFigures,
    window_kpis,
)
from streams.core.history import DEMAND
from streams.core.insights import insights
from streams.core.location import LocationState
from streams.core.ratios import coefficient_of_variation
from streams.core.replan import replan_status
from streams.core.service import Row, period_fill_rates, population
from streams.core.sku_location import SkuLocation
from streams.core.uncertainty import LeadTime, outlook
from streams.core.views import SkuLocationView
from streams.core.windows import (
    DAY,
    bucket_index,
    complete_periods,
    covered_days,
    covered_span,
    period_label,
    window_start,
)

__all__ = ["UNCERTAINTY_WINDOW", "Context", "location_figures"]


@dataclass(frozen=True, slots=True)
class _Span:
    """One window of the location: `[start, wm]`, covered from `covered_from`, and its prior
    window `[prior_start, start)` (the same number of whole buckets, all closed)."""

    start: float
    covered_from: float
    seconds: float  # covered seconds
    k_lo: int  # its first bucket
    first_day: int  # first UTC day of its daily demand
    days: int
    prior_start: float
    prior_seconds: float  # covered seconds of the prior window; 0 when it has none
    pk_lo: int  # the prior window's first bucket


def _span(wm: float, window_s: float, first: float, size: float, complete_from: float) -> _Span:
    """The window of `window_s` ending at `wm` of a location whose data begins at `first`.

    Its prior window exists once the location's data began in the prior window's first
    bucket or before (a prior covering a few days would compare a count over days with
    one over weeks), and its kept buckets are complete over the whole prior window
    (`complete_from`: the `history_from` of a location restored from a checkpoint that
    kept less). Its covered span follows the covered-span rule.
    """
    start = window_start(wm, window_s, size)
    covered_from, seconds = covered_span(wm, window_s, first, size)
    first_day, days = covered_days(covered_from, wm)
    prior_start = start - window_s
    whole = first < prior_start + size and prior_start >= complete_from
    prior_seconds = start - max(prior_start, first) if whole else 0.0
    return _Span(
        start,
        covered_from,
        seconds,
        bucket_index(start, size),
        first_day,
        days,
        prior_start,
        max(0.0, prior_seconds),
        bucket_index(prior_start, size),
    )


def _lead_time(state: LocationState, sl: SkuLocation, ctx: Context) -> LeadTime | None:
    """Supplier's receipts, else the SKU-location's own, else None (use the default)."""
    found = ctx.supplier_lead_time(sl.supplier)
    if found is not None:
        return found
    own = state.receipts.stats(sl.sku)
    return own if own.receipts else None


@dataclass
class _Scene:
    """What every window of one location reads, computed once per report."""

    state: LocationState
    ctx: Context
    wm: float
    k_open: int
    skus: list[SkuLocation]
    value: float
    known: int
    disrupted: frozenset[str]  # SKUs an active disruption covers here
    replans: tuple[tuple[float, float], ...]  # (reported_at, seconds to the replan)
    rows: list[Row]  # orders due over the longest span
    promised: list[float]
    points: list[PeriodPoint]
    # The open buckets' part up to the watermark, summed over SKU-locations.
    open_integral: float = 0.0
    open_cogs: float = 0.0
    open_starts: int = 0
    open_sales: float = 0.0
    open_expedite: float = 0.0
    # The same by policy source (value integral and COGS), and per row its lines' sources.
    open_by_source: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    line_sources: LineColumns | None = None  # of the rows from `current` on
    current: int = 0  # index in `rows` of the first order due in the longest window
    daily: dict[tuple[int, int, int], list[list[float]]] = field(default_factory=dict)

    def daily_of(self, span: _Span) -> list[list[float]]:
        """Per SKU-location (in `skus` order), its units ordered per covered day of the span."""
        key = (span.k_lo, span.first_day, span.days)
        found = self.daily.get(key)
        if found is None:
            size, k_open, wm = self.ctx.size, self.k_open, self.wm
            found = self.daily[key] = [
                daily_demand(
                    sl.history, sl.demand, size, span.k_lo, k_open, wm, span.first_day, span.days
                )
                for sl in self.skus
            ]
        return found

    def actual(self, sku: str, start: float, end: float) -> float:
        """Units ordered in the buckets starting in `[start, end)` (a forecast period's A)."""
        sl = self.state.skus.get(sku)
        if sl is None:
            return 0.0
        size = self.ctx.size
        lo, hi = math.ceil(start / size), math.ceil(end / size)
        parts = []
        if sl.history is not None:
            parts = [units for _k, units in sl.history.records(DEMAND, lo, min(hi, self.k_open))]
        if sl.demand is not None and hi > self.k_open:
            parts += [u for k, u in sl.demand.by_bucket(size).items() if lo <= k < hi]
        return math.fsum(parts)


def _view(
    state: LocationState,
    sl: SkuLocation,
    daily: list[float],
    covered: float,
    wm: float,
    ctx: Context,
) -> SkuLocationView:
    """The SKU-location's current position and uncertainty model (30d daily demand).

    `covered` is the covered part of the 30d model window (fractional days), `wm`
    the location's watermark, from which the projected stockout is counted.
    """
    walk = sl.current
    model = outlook(
        daily,
        covered,
        _lead_time(state, sl, ctx),
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
        unit_cost=sl.unit_cost,
        value=sl.value,
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
        has_open_strategic_orders=sl.has_open_strategic_orders(state.book),
        last_event_at=sl.last_event_at,
    )


def _periods(
    state: LocationState, rows: list[Row], wm: float, start: float, ctx: Context
) -> list[PeriodPoint]:
    """Complete cost-to-service periods inside `[start, wm]` (all their buckets are closed).

    `rows` are the orders due from `start` on, by promised time.
    """
    period = float(ctx.settings.cost_to_service_period_seconds)
    starts = complete_periods(wm, period, start)
    if not starts:
        return []
    promised = [row[0] for row in rows]
    rows = rows[bisect_left(promised, starts[0]) : bisect_left(promised, starts[-1] + period)]
    points: list[PeriodPoint] = []
    size, first = ctx.size, state.first_at
    for begin, rate in zip(starts, period_fill_rates(rows, starts, period), strict=True):
        end = begin + period
        a = max(begin, first)
        average = None
        if end > a:
            area = state.columns.total(INTEGRAL, bucket_index(begin, size), bucket_index(end, size))
            average = area / (end - a)
        points.append(PeriodPoint(begin, period_label(begin, period), rate, average))
    return points


def _slope(points: list[PeriodPoint], lo: float) -> float | None:
    """ΔFR ÷ (ΔV ÷ 1e6) between the last two periods from `lo` with a fill rate and a value."""
    usable = [
        p
        for p in points
        if p.start >= lo and p.fill_rate is not None and p.average_value is not None
    ]
    if len(usable) < 2:
        return None
    before, last = usable[-2], usable[-1]
    delta_value = last.average_value - before.average_value  # type: ignore[operator]
    if delta_value == 0:
        return None
    return (last.fill_rate - before.fill_rate) / (delta_value / MILLION)  # type: ignore[operator]


def _volatile(
    state: LocationState,
    sl: SkuLocation,
    daily: list[float],
    ctx: Context,
    disrupted: frozenset[str],
) -> bool:
    """Whether the SKU-location's value is working capital at risk.

    Demand CV over the window's daily sums, or the lead-time CV of its supplier
    (every receipt seen), or an active disruption covering it (`disrupted`: the
    SKUs of the location some active disruption covers).
    """
    s = ctx.settings
    cv = coefficient_of_variation(daily)
    if cv is not None and cv > s.cv_threshold:
        return True
    lead = ctx.supplier_lead_time(sl.supplier)
    if lead is not None and lead.cv is not None and lead.cv > s.lead_time_cv_threshold:
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
    the whole value of a SKU-location with no order line placed after
    `wm - obsolete_after_days`. Excess, for the others: the part of on_hand above
    `excess_cover_days` x the model's expected daily demand, at its unit cost.
    """
    s = ctx.settings
    horizon = wm - s.obsolete_after_days * DAY
    parts: list[float] = []
    for sl, view in zip(skus, views, strict=True):
        value = view.value
        if value <= 0:
            continue
        if judged and sl.last_demand_at <= horizon:
            parts.append(value)
            continue
        excess = max(0.0, view.on_hand - s.excess_cover_days * view.expected_daily_demand)
        parts.append(excess * view.unit_cost)
    return math.fsum(parts)


def _window(scene: _Scene, label: str, span: _Span) -> WindowFigures:
    """The KPIs of one window `[start, wm]` covered from `covered_from`."""
    state, ctx, wm, skus = scene.state, scene.ctx, scene.wm, scene.skus
    columns, k_lo, k_open = state.columns, span.k_lo, scene.k_open
    days = span.seconds / DAY
    applied, overrides, recommendations = state.planning.counts(
        span.start, wm, state.open_from, ctx.size
    )
    at_risk = [
        sl.value
        for sl, daily in zip(skus, scene.daily_of(span), strict=True)
        if sl.value > 0 and _volatile(state, sl, daily, ctx, scene.disrupted)
    ]
    integral = math.fsum([columns.total(INTEGRAL, k_lo, k_open), scene.open_integral])
    forecast = state.forecasts.error(span.start, wm, scene.actual)
    return WindowFigures(
        window=label,
        covered_days=days,
        cogs=math.fsum([columns.total(COGS, k_lo, k_open), scene.open_cogs]),
        average_value=integral / span.seconds if span.seconds else None,
        current_value=scene.value,
        service=population(scene.rows[bisect_left(scene.promised, span.start) :]),
        stockouts=columns.starts_between(k_lo, k_open) + scene.open_starts,
        forecast=forecast,
        expedite_cost=math.fsum([columns.total(EXPEDITE, k_lo, k_open), scene.open_expedite]),
        sales=math.fsum([columns.total(SALES, k_lo, k_open), scene.open_sales]),
        cost_to_service_slope=_slope(scene.points, span.start),
        working_capital_at_risk=math.fsum(at_risk),
        policy_changes=applied,
        sku_locations=scene.known,
        overrides=overrides,
        recommendations=recommendations,
        replans=tuple(x for t, x in scene.replans if span.start <= t <= wm),
    )


def _cohorts(scene: _Scene, span: _Span) -> tuple[CohortFigures, ...]:
    """The window's service and working-capital numerators and denominators by policy source."""
    state = scene.state
    columns, k_lo, k_open = state.columns, span.k_lo, scene.k_open
    first = bisect_left(scene.promised, span.start) - scene.current  # in `line_sources`
    if scene.line_sources is None:
        scene.line_sources = line_sources(
            scene.rows[scene.current :],
            state.policies,
            state.planning.overridden,
            state.book.dispatches,
        )
    out = []
    for source in COHORTS:
        index, ordered, shipped = scene.line_sources[source]
        j = bisect_left(index, first)
        open_integral, open_cogs = scene.open_by_source[source]
        integral = math.fsum(
            [columns.total(cohort_column(INTEGRAL, source), k_lo, k_open), *open_integral]
        )
        cogs = math.fsum([columns.total(cohort_column(COGS, source), k_lo, k_open), *open_cogs])
        out.append(
            CohortFigures(
                policy_source=source,
                units_ordered=math.fsum(ordered[j:]),
                units_shipped=math.fsum(shipped[j:]),
                cogs=cogs,
                average_value=integral / span.seconds if span.seconds else None,
            )
        )
    return tuple(out)


def _prior(scene: _Scene, label: str, span: _Span) -> WindowFigures | None:
    """The KPIs of the window's prior window, read from closed buckets (SPEC §4.3).

    None when the prior window covers no time. Orders due in it are the kept ones
    plus the totals of those already forgotten (`DueTotals`). Point-in-time figures
    (current value, working capital at risk) have no prior: they are nan here and
    never read.
    """
    if span.prior_seconds <= 0:
        return None
    state = scene.state
    columns, lo, hi = state.columns, span.pk_lo, span.k_lo
    applied, overrides, recommendations = state.planning.closed_counts(lo, hi)
    promised = scene.promised
    rows = scene.rows[bisect_left(promised, span.prior_start) : bisect_left(promised, span.start)]
    service = population(rows)
    service.total.merge(state.due.totals(lo, hi))
    return WindowFigures(
        window=label,
        covered_days=span.prior_seconds / DAY,
        cogs=columns.total(COGS, lo, hi),
        average_value=columns.total(INTEGRAL, lo, hi) / span.prior_seconds,
        current_value=math.nan,
        service=service,
        stockouts=columns.starts_between(lo, hi),
        forecast=state.forecasts.error(span.prior_start, span.start, scene.actual),
        expedite_cost=columns.total(EXPEDITE, lo, hi),
        sales=columns.total(SALES, lo, hi),
        cost_to_service_slope=None,
        working_capital_at_risk=math.nan,
        policy_changes=applied,
        sku_locations=scene.known,
        overrides=overrides,
        recommendations=recommendations,
        replans=tuple(x for t, x in scene.replans if span.prior_start <= t < span.start),
    )


def _with_prior(scene: _Scene, label: str, span: _Span) -> WindowFigures:
    """The window's figures, with its prior window's and the insight signals."""
    current = replace(_window(scene, label, span), cohorts=_cohorts(scene, span))
    prior = _prior(scene, label, span)
    if prior is None:
        return current
    s = scene.ctx.settings
    signals = insights(
        window_kpis(current), window_kpis(prior), s.insight_noise, s.inventory_tolerance
    )
    return replace(
        current,
        prior=prior,
        insights=tuple((name, value) for name, value in signals.items() if value is not None),
    )


def _open_part(scene: _Scene) -> None:
    """Sum the open buckets up to the watermark over the location's SKU-locations."""
    state, wm = scene.state, scene.wm
    open_from = state.open_from
    integrals: list[float] = []
    cogs: list[float] = []
    starts = 0
    held: list[float] = []
    by_source = scene.open_by_source = {source: ([], []) for source in COHORTS}
    for sl in scene.skus:
        ledger = sl.ledger
        into = by_source[state.source_at(sl.sku, open_from)]
        if ledger is None:
            if sl.base.on_hand > 0 and sl.base.cost is not None:
                held.append(sl.base.on_hand * sl.base.cost)
                if wm > open_from:
                    into[0].append(sl.base.on_hand * sl.base.cost * (wm - open_from))
            continue
        integral, sold = ledger.integral(open_from, wm), ledger.cogs_between(open_from, wm)
        integrals.append(integral)
        cogs.append(sold)
        into[0].append(integral)
        into[1].append(sold)
        starts += ledger.starts_between(open_from, wm)
    if held and wm > open_from:
        integrals.append(math.fsum(held) * (wm - open_from))
    scene.open_integral = math.fsum(integrals)
    scene.open_cogs = math.fsum(cogs)
    scene.open_starts = starts
    book = state.book
    due = [d for d in state.open_dispatches if d.dispatched_at <= wm]
    scene.open_sales = math.fsum(book.sales(d) for d in due)
    scene.open_expedite = math.fsum(d.expedite_cost for d in due)


def location_figures(state: LocationState, ctx: Context) -> LocationFigures:
    """Every KPI of the location at its current watermark."""
    state.settle()
    s, size = ctx.settings, ctx.size
    wm, first = state.watermark(ctx.lateness), state.first_at
    open_from = state.open_from
    skus = [state.skus[k] for k in sorted(state.skus)]
    for sl in skus:
        sl.build(state.book, open_from)
    complete_from = state.history_from
    spans = [_span(wm, seconds, first, size, complete_from) for _label, seconds in ctx.windows]
    model = _span(wm, UNCERTAINTY_WINDOW, first, size, complete_from)
    model_covered = model.seconds / DAY  # fractional days
    lo = min([model.start] + [span.prior_start for span in spans])
    rows = state.orders.rows(state.book, lo, wm)  # every window and period is a part of these
    coverage = LocationCoverage(state.code, state.skus)
    status = replan_status(state, ctx.disruptions, coverage, size)
    value = math.fsum(sl.value for sl in skus)
    scene = _Scene(
        state=state,
        ctx=ctx,
        wm=wm,
        k_open=bucket_index(open_from, size),
        skus=skus,
        value=value,
        known=sum(sl.known for sl in skus),
        disrupted=coverage.disrupted(ctx.disruptions.active()),
        replans=status.observations,
        rows=rows,
        promised=[row[0] for row in rows],
        points=[],
    )
    scene.current = bisect_left(scene.promised, min(span.start for span in spans))
    due = rows[bisect_left(scene.promised, model.start) :]
    scene.points = _periods(state, due, wm, model.start, ctx)
    _open_part(scene)
    views = tuple(
        _view(state, sl, daily, model_covered, wm, ctx)
        for sl, daily in zip(skus, scene.daily_of(model), strict=True)
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
            _with_prior(scene, label, span)
            for (label, _seconds), span in zip(ctx.windows, spans, strict=True)
        ),
        views=views,
        periods=tuple(scene.points),
        replans=tuple(sorted(x for _t, x in scene.replans)),
        awaiting_replan=status.awaiting,
        oldest_awaiting_at=status.oldest_awaiting,
        counters=(
            *state.counters.totals(),
            ("inventory_overrides_unmatched_total", float(state.planning.unmatched_overrides)),
        ),
    )
