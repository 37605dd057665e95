"""Forget what no window can see any more, without changing any exported figure.

Each location's horizon is the oldest bucket of the longest span any figure of
its windows reads (the longest window or the 30d uncertainty model,
`Context.horizon_start`). An event older than that is dropped when it arrives
(counted late), so nothing before the horizon changes again. The prior windows
(SPEC §4.3) read the closed buckets before it, so per-bucket totals are kept
back to the retention start (`Context.retention_start`, twice the longest
window). Before the retention start:

- per-bucket totals, SKU-location histories (demand back to the earliest
  forecast period still scored), policy counts and the service totals of
  forgotten orders are dropped;
- forecast periods that ended at or before it are dropped;
- recommendations published before it go, with their overrides;
- a disruption's time-to-replan found before it is frozen;
- the policies applied to a SKU-location before it collapse into the one in force.

Before the horizon:

- an order goes once it is promised and placed before the horizon, every
  dispatch of it is before the horizon, and it is not an open strategic order;
  its outcome, final now, is added to the service totals of its promised bucket
  (`DueTotals`);
- order lines still waiting for the location's inventory feed (the stockout
  counter's unsettled lines) are forgotten: an inventory feed that far behind
  will not settle them.

Obsolescence needs no history: each SKU-location keeps its last demand time.
"""

from __future__ import annotations

import math

from streams.core.cohorts import PLANNER, source_of
from streams.core.context import Context
from streams.core.coverage import LocationCoverage
from streams.core.location import LocationState
from streams.core.orders import DispatchRecord, OrderOutcome, OrderRecord
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


def _collapse_policies(state: LocationState, keep: float) -> int:
    """Keep, of the policies applied before `keep`, only the one in force at `keep`."""
    dropped = 0
    overridden = state.planning.overridden
    for sku, applied in state.policies.items():
        old = [i for i, (t, _eid, _rid) in enumerate(applied) if t < keep]
        if len(old) > 1:
            del applied[: old[-1]]
            dropped += len(old) - 1
        if old:  # its source is final: an override pruned with its recommendation is gone
            t, eid, rid = applied[0]
            if source_of(rid, overridden) == PLANNER:
                applied[0] = (t, eid, "")
        state.policies[sku] = applied
    return dropped


def prune_location(state: LocationState, ctx: Context) -> int:
    """Prune one location (see the module docstring); returns the number of items dropped."""
    state.settle()
    size = ctx.size
    cut = ctx.horizon_start(state.open_from)
    keep = ctx.retention_start(state.open_from)
    k_keep = bucket_index(keep, size)
    dropped = state.forecasts.prune(keep)
    earliest = state.forecasts.earliest_start()
    demand_k = k_keep if math.isinf(earliest) else min(k_keep, math.ceil(earliest / size))
    _freeze_replans(state, ctx, keep)
    dropped += _collapse_policies(state, keep)  # before the overrides it reads are pruned
    dropped += state.planning.prune(k_keep, keep)
    dropped += state.columns.prune(k_keep)
    dropped += state.due.prune(k_keep)
    for sl in state.skus.values():
        if sl.history is not None:
            dropped += sl.history.prune(demand_k)
    dropped += state.forget_unsettled(cut)
    forgotten: list[tuple[int, OrderOutcome]] = []

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
        if order.customer_tier == "strategic" and outcome and outcome.unfilled_skus:
            return False
        if outcome is not None:  # not cancelled: its final outcome stays for prior windows
            forgotten.append((bucket_index(order.promised_at, size), outcome))
        return True

    orders, dispatches = state.book.prune(prunable)
    for k, outcome in forgotten:
        state.due.add(k, outcome)
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
