"""Forget what no window can see any more, without changing any exported figure.

Each location keeps its buckets from its horizon on: the oldest bucket of the
longest span any figure reads (the longest window or the 30d uncertainty
model, `Context.horizon_start`). An event older than that is dropped when it
arrives (counted late), so nothing before the horizon can be needed again.
Before the horizon:

- per-bucket totals, SKU-location histories (demand back to the earliest
  forecast period still scored) and policy counts are dropped;
- forecast periods that ended at or before it are dropped;
- an order goes once it is promised and placed before the horizon, every
  dispatch of it is before the horizon, and it is not an open strategic order;
- recommendations published before it go, with their overrides;
- a disruption's time-to-replan found before the horizon is frozen;
- order lines still waiting for the location's inventory feed (the stockout
  counter's unsettled lines) are forgotten: an inventory feed that far behind
  will not settle them.

Obsolescence needs no history: each SKU-location keeps its last demand time.
"""

from __future__ import annotations

import math

from streams.core.context import Context
from streams.core.coverage import LocationCoverage
from streams.core.location import LocationState
from streams.core.orders import DispatchRecord, OrderRecord
from streams.core.replan import first_replan
from streams.core.windows import bucket_index


def _freeze_replans(state: LocationState, ctx: Context, cut: float) -> None:
    """Keep the replans found in buckets about to be forgotten."""
    planning = state.planning
    k_cut = bucket_index(cut, ctx.size)
    if not any(k < k_cut for k in planning.first_applied):
        return
    coverage = LocationCoverage(state.code, state.skus)
    for record in ctx.disruptions.reported():
        if record.reported_at >= cut or not record.names_location(state.code):
            continue
        covered = coverage.covered(record)
        if not covered:
            continue
        resolved_at = ctx.disruptions.resolved.get(record.disruption_id)
        applied = first_replan(state, record, resolved_at, covered, ctx.size)
        if applied is not None and applied < cut:
            planning.frozen[record.disruption_id] = applied


def prune_location(state: LocationState, ctx: Context) -> int:
    """Prune one location (see the module docstring); returns the number of items dropped."""
    state.settle()
    size = ctx.size
    cut = ctx.horizon_start(state.open_from)
    k_cut = bucket_index(cut, size)
    dropped = state.forecasts.prune(cut)
    earliest = state.forecasts.earliest_start()
    demand_k = k_cut if math.isinf(earliest) else min(k_cut, math.ceil(earliest / size))
    _freeze_replans(state, ctx, cut)
    dropped += state.planning.prune(k_cut, cut)
    dropped += state.columns.prune(k_cut)
    for sl in state.skus.values():
        if sl.history is not None:
            dropped += sl.history.prune(demand_k)
    dropped += state.forget_unsettled(cut)

    def prunable(order: OrderRecord | None, dispatches: list[DispatchRecord]) -> bool:
        if order is None and not dispatches:
            return False
        if any(d.dispatched_at >= cut for d in dispatches):
            return False
        if order is None:
            return True
        if order.promised_at >= cut or order.placed_at >= cut:
            return False
        outcome = state.book.outcome(order.key)
        return not (order.customer_tier == "strategic" and outcome and outcome.unfilled_skus)

    orders, dispatches = state.book.prune(prunable)
    for order in orders:
        for _line_id, sku, _quantity, _price in order.lines:
            holder = state.skus.get(sku)
            if holder is not None and holder.strategic is not None:
                holder.strategic.discard(order.order_id)
    for dispatch in dispatches:
        state.dispatch_sales.pop(dispatch.event_id, None)
    dropped += len(orders) + len(dispatches) + state.book.forget_deliveries(cut)
    dropped += state.orders.prune(state.book)
    return dropped
