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

from streams.core.cohorts import changes_within
from streams.core.columns import EXPEDITE, INTEGRAL, SALES, Tally, cohort_column
from streams.core.context import Context
from streams.core.coverage import LocationCoverage
from streams.core.location import LocationState
from streams.core.sku_location import SkuLocation
from streams.core.windows import bucket_index, bucket_start


def close_buckets(state: LocationState, ctx: Context, wm: float) -> None:
    """Close every bucket of the location that ends at or before `wm`.

    Buckets older than the new retention start (a watermark that jumped ahead, a
    location silent for long) are skipped into the base without totals: no window or
    prior window reads them,
    and the work stays bounded by the horizon, not by the length of the jump.
    """
    size = ctx.size
    origin, cut = state.open_from, bucket_start(wm, size)
    if cut <= origin:
        return
    state.settle()
    keep = ctx.retention_start(cut)
    if keep > origin:
        _skip(state, ctx, origin, keep)
        origin = keep
    k0 = bucket_index(origin, size)
    count = bucket_index(cut, size) - k0
    columns, book = Tally(), state.book
    # Values of SKU-locations without open entries before the cut, by the cohort in force
    # over the closing buckets (or None: it changes between them).
    still: dict[str | None, list[tuple[str, float]]] = {}
    stocked_out: list[SkuLocation] = []
    for sl in state.skus.values():
        value = sl.quiet_value()
        if value is None:  # open entries or demand to fold, or value before any cost
            value, starts = sl.fold(origin, cut, size, state.by_cohort(sl.sku, columns), book)
            if starts:
                stocked_out.append(sl)
        if value:
            applied = state.policies.get(sl.sku)
            source = (
                None if changes_within(applied, origin, cut) else state.source_at(sl.sku, origin)
            )
            still.setdefault(source, []).append((sl.sku, value))
    _add_still(state, columns, still, k0, count, size)
    columns.into(state.columns)
    _fold_dispatches(state, size, cut)
    applied = state.planning.fold(cut, size)
    if applied:
        _freeze_replans(state, ctx, applied, origin, cut)
    state.open_from = cut
    for sl in stocked_out:  # episodes of closed buckets are final: settled
        state.recount(sl)


def _add_still(
    state: LocationState,
    columns: Tally,
    still: dict[str | None, list[tuple[str, float]]],
    k0: int,
    count: int,
    size: float,
) -> None:
    """Add the standing values to the integral of each closing bucket, in total and by cohort."""
    if not still:
        return
    total = math.fsum(v for values in still.values() for _sku, v in values) * size
    for j in range(count):
        columns.add(INTEGRAL, k0 + j, total)
    for source, values in still.items():
        if source is not None:
            amount = math.fsum(v for _sku, v in values) * size
            for j in range(count):
                columns.add(cohort_column(INTEGRAL, source), k0 + j, amount)
            continue
        for sku, value in values:
            for j in range(count):
                k = k0 + j
                column = cohort_column(INTEGRAL, state.source_at(sku, k * size))
                columns.add(column, k, value * size)


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
