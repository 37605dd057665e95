"""Forget what no window can see any more, without changing any exported figure.

Each location keeps `keep` seconds before its watermark: the longest window
(rounded up to whole demand days), the 30d uncertainty window and
`obsolete_after_days`. Before that horizon:

- inventory history collapses into the walk state at the latest snapshot
  before it (values, prices and stockout episodes from there on are unchanged);
- dispatches, policy events and forecast periods are dropped (the lifetime
  counters are running totals, `streams.core.counters`: nothing to keep);
- an order goes once it is promised and placed before the horizon (placed
  before the earliest kept forecast period), every dispatch of it is before the
  horizon, and it is not an open strategic order;
- a disruption's time-to-replan found before the horizon is frozen;
- order lines still waiting for the location's inventory feed (the stockout
  counter's unsettled lines) are forgotten: an inventory feed that far behind
  will not settle them.
"""

from __future__ import annotations

import math

from streams.core.coverage import LocationCoverage
from streams.core.kpis import UNCERTAINTY_WINDOW, Context
from streams.core.location import LocationState
from streams.core.orders import DispatchRecord, OrderRecord
from streams.core.planning import DisruptionBook
from streams.core.replan import first_replan
from streams.core.windows import DAY
from streams.settings import KpiSettings


def keep_seconds(settings: KpiSettings, windows: tuple[tuple[str, float], ...]) -> float:
    """How far before the watermark state must be kept (s)."""
    spans = [UNCERTAINTY_WINDOW] + [seconds for _label, seconds in windows]
    return max([math.ceil(s / DAY) * DAY for s in spans] + [settings.obsolete_after_days * DAY])


def _freeze_replans(state: LocationState, disruptions: DisruptionBook, horizon: float) -> None:
    coverage = LocationCoverage(state.code, state.skus)
    for d in disruptions.reported():
        reported_at = d.reported_at
        if reported_at >= horizon or d.disruption_id in state.frozen_replans:
            continue
        if not d.names_location(state.code):
            continue
        covered = coverage.covered(d)
        if not covered:
            continue
        resolved_at = disruptions.resolved.get(d.disruption_id)
        applied = first_replan(state, d, resolved_at, covered)
        if applied is not None and applied < horizon:
            state.frozen_replans[d.disruption_id] = applied - reported_at


def prune_engine(locations: dict[str, LocationState], ctx: Context, settings: KpiSettings) -> int:
    """Prune every location and the shared books; returns the number of items dropped."""
    keep = keep_seconds(settings, ctx.windows)
    lateness = settings.allowed_lateness_seconds
    horizon = {code: state.watermark(lateness) - keep for code, state in locations.items()}
    order_cut: dict[str, float] = {}
    book = ctx.book
    dropped = 0
    for code, state in locations.items():
        state.settle()
        cut = horizon[code]
        dropped += state.forecasts.prune(cut)
        order_cut[code] = min(cut, state.forecasts.earliest_start())
        _freeze_replans(state, ctx.disruptions, cut)
        dropped += state.planning.prune(cut)
        for sl in state.skus.values():
            sl.build(book)
            dropped += sl.prune(cut, order_cut[code])
        state.price_dispatches(book)
        state.period_values = {k: v for k, v in state.period_values.items() if k[0] >= cut}
        dropped += state.forget_unsettled(cut)
        for dispatch in state.dispatches.prune(cut):
            state.dispatch_sales.pop(dispatch.event_id)
            dropped += 1

    def prunable(order: OrderRecord | None, dispatches: list[DispatchRecord]) -> bool:
        if order is None and not dispatches:
            return False
        if any(d.dispatched_at >= horizon.get(d.location, -math.inf) for d in dispatches):
            return False
        if order is None:
            return True
        if order.promised_at >= horizon[order.location]:
            return False
        if order.placed_at >= order_cut[order.location]:
            return False
        outcome = book.outcome(order.key)
        return not (order.customer_tier == "strategic" and outcome and outcome.unfilled_skus)

    for order in book.prune(prunable):
        state = locations[order.location]
        for _line_id, sku, _quantity, _price in order.lines:
            holder = state.skus.get(sku)
            if holder is not None:
                holder.order_ids.discard(order.order_id)
                holder.strategic.discard(order.order_id)
        dropped += 1
    for state in locations.values():
        dropped += state.orders.prune(book)
    return dropped
