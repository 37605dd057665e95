"""Closing buckets: when a location's watermark passes a bucket's end, fold its raw events.

Runs at the moment the watermark moves (in `KpiEngine.add`), so which events
found their bucket closed, and what each closed bucket holds, depend only on
the processing order, never on when figures are read. The location settles
first; then every SKU-location folds its open entries before the cut into the
location's per-bucket totals and its own history, dispatches fold into sales
and expedite cost, policies applied into counts. What is kept of a closed
bucket no longer grows with the number of its events.

Time-to-replan: folding keeps only the first application per SKU and bucket,
so for a disruption reported inside a bucket being closed, the first covering
application after its report is worked out from the raw events first and kept
(`PlanningLog.frozen`).
"""

from __future__ import annotations

import math

from streams.core.columns import EXPEDITE, INTEGRAL, SALES, Tally
from streams.core.context import Context
from streams.core.coverage import LocationCoverage
from streams.core.location import LocationState
from streams.core.sku_location import SkuLocation
from streams.core.windows import bucket_index, bucket_start


def close_buckets(state: LocationState, ctx: Context, wm: float) -> None:
    """Close every bucket of the location that ends at or before `wm`.

    Buckets older than the new horizon (a watermark that jumped ahead, a location
    silent for long) are skipped into the base without totals: no window reads them,
    and the work stays bounded by the horizon, not by the length of the jump.
    """
    size = ctx.size
    origin, cut = state.open_from, bucket_start(wm, size)
    if cut <= origin:
        return
    state.settle()
    keep = ctx.horizon_start(cut)
    if keep > origin:
        _skip(state, ctx, origin, keep)
        origin = keep
    k0 = bucket_index(origin, size)
    count = bucket_index(cut, size) - k0
    columns, book = Tally(), state.book
    still: list[float] = []  # values of SKU-locations without open entries before the cut
    stocked_out: list[SkuLocation] = []
    for sl in state.skus.values():
        value = sl.quiet_value()
        if value is None:  # open entries or demand to fold, or value before any cost
            value, starts = sl.fold(origin, cut, size, columns, book)
            if starts:
                stocked_out.append(sl)
        if value:
            still.append(value)
    if still:
        total = math.fsum(still) * size
        for j in range(count):
            columns.add(INTEGRAL, k0 + j, total)
    columns.into(state.columns)
    _fold_dispatches(state, size, cut)
    applied = state.planning.fold(cut, size)
    if applied:
        _freeze_replans(state, ctx, applied, origin, cut)
    state.open_from = cut
    for sl in stocked_out:  # episodes of closed buckets are final: settled
        state.recount(sl)


def _skip(state: LocationState, ctx: Context, origin: float, keep: float) -> None:
    """Close `[origin, keep)`, all of it older than any window: positions move on, counters
    count, nothing is kept per bucket (what is kept there is pruned anyway)."""
    stocked_out = []
    for sl in state.skus.values():
        if sl.quiet_value() is None and sl.skip_to(keep, ctx.size, state.book):
            stocked_out.append(sl)
    _fold_dispatches(state, ctx.size, keep)
    applied = state.planning.fold(keep, ctx.size)
    if applied:
        _freeze_replans(state, ctx, applied, origin, keep)
    state.open_from = keep
    for sl in stocked_out:
        state.recount(sl)


def _fold_dispatches(state: LocationState, size: float, cut: float) -> None:
    closing = [d for d in state.open_dispatches if d.dispatched_at < cut]
    if not closing:
        return
    state.open_dispatches = [d for d in state.open_dispatches if d.dispatched_at >= cut]
    sales: dict[int, list[float]] = {}
    expedite: dict[int, list[float]] = {}
    for dispatch in closing:
        k = bucket_index(dispatch.dispatched_at, size)
        price = state.book.sales(dispatch)
        state.dispatch_sales[dispatch.event_id] = price
        sales.setdefault(k, []).append(price)
        expedite.setdefault(k, []).append(dispatch.expedite_cost)
    for k in sorted(sales):
        state.columns.add(SALES, k, math.fsum(sales[k]))
        state.columns.add(EXPEDITE, k, math.fsum(expedite[k]))


def _freeze_replans(
    state: LocationState,
    ctx: Context,
    applied: list[tuple[float, str, str]],
    origin: float,
    cut: float,
) -> None:
    """Keep the replans of disruptions reported in the closing buckets (see the module)."""
    records = [
        d
        for d in ctx.disruptions.reported()
        if origin <= d.reported_at < cut and d.names_location(state.code)
    ]
    if not records:
        return
    coverage = LocationCoverage(state.code, state.skus)
    frozen = state.planning.frozen
    for record in records:
        covered = coverage.covered(record)
        if not covered:
            continue
        until = ctx.disruptions.resolved.get(record.disruption_id)
        for t, _event_id, sku in applied:
            if t >= record.reported_at and (until is None or t < until) and sku in covered:
                frozen[record.disruption_id] = min(t, frozen.get(record.disruption_id, t))
                break
