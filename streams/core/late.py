"""Late inventory events: a snapshot or adjustment whose bucket has closed (SPEC §4.1).

Their raw neighbours are gone (folded into per-bucket totals), so they are
applied to the totals where that is exact and approximated where it cannot be
(docs/KPI_DEFINITIONS.md, "Late events"):

- A late snapshot older than the SKU-location's latest inventory event changes
  nothing: a newer state report supersedes it.
- A late snapshot newer than every inventory event of the SKU-location becomes
  its position from its time on. The value since then was constant (no
  inventory event followed), so the integrals of the closed buckets from its
  time on are shifted exactly; dispatch lines of the *later* closed buckets are
  repriced at its cost exactly; those of its own bucket keep their price (which
  of them came after it is not known). Before any snapshot, it is the first: it
  prices every closed value and dispatch line before it, as the first snapshot
  does.
- A late adjustment shifts on_hand from its time to the next snapshot of the
  SKU-location: the closed integrals over that span move by `unit cost x delta x
  seconds` (exact while on_hand stays positive; the `max(on_hand, 0)` of the
  buckets in between is not re-derived), and when no snapshot follows in the
  closed buckets, the base (and so the open buckets and the current position).
  When it falls between two snapshots of one closed bucket, the later one
  supersedes it there at an unknown time: it changes nothing.
- Stockout episodes of closed buckets are not re-derived; the current stockout
  state follows the new position.
"""

from __future__ import annotations

import math

from streams.core.columns import COGS, INTEGRAL, ColumnSink
from streams.core.history import AMBIGUOUS, SHIPPED, SkuHistory
from streams.core.position import Entry, walk_value
from streams.core.sku_location import SkuLocation
from streams.core.walk import Walk
from streams.core.windows import bucket_index


def _closed(sl: SkuLocation) -> SkuHistory:
    if sl.history is None:
        sl.history = SkuHistory()
    return sl.history


def _move(base: Walk, on_hand: float, t: float) -> None:
    """The base's on_hand becomes `on_hand` from `t` on (no episode of a closed bucket counted)."""
    before, known = base.on_hand, base.known
    base.on_hand, base.known = on_hand, True
    if on_hand > 0:
        base.stocked_out, base.open_since = False, None
    elif known and before > 0:
        base.stocked_out, base.open_since = True, t


def _spread(
    columns: ColumnSink, t: float, stop: float, size: float, rate: float
) -> list[tuple[int, float]]:
    """Add `rate x seconds` of `[t, stop)` to each closed bucket's integral; the spans."""
    spans: list[tuple[int, float]] = []
    k = bucket_index(t, size)
    start = t
    while start < stop:
        end = min((k + 1) * size, stop)
        spans.append((k, end - start))
        columns.add(INTEGRAL, k, rate * (end - start))
        k, start = k + 1, end
    return spans


def apply_late_snapshot(
    sl: SkuLocation,
    entry: Entry,
    supplier: str | None,
    sku_class: str | None,
    open_from: float,
    size: float,
    columns: ColumnSink,
) -> bool:
    """Apply a snapshot of a closed bucket; False when a newer inventory event supersedes it."""
    t, kind, event_id, on_hand, in_transit, cost = entry
    if sl.latest_inventory is not None and (t, kind, event_id) < sl.latest_inventory:
        return False
    base = sl.base  # no open inventory entry: it would be newer
    old_cost, first_price = base.cost, sl.first_price
    new_value = on_hand * cost if on_hand > 0 else 0.0
    old_value = walk_value(base, first_price)
    _spread(columns, t, open_from, size, new_value)
    _spread(columns, t, open_from, size, -old_value)
    history = _closed(sl)
    k_t = bucket_index(t, size)
    if old_cost is None:
        # Its first snapshot: values and dispatch lines before it are priced at its cost.
        held = base.on_hand if base.on_hand > 0 else 0.0
        for k, unit_seconds in history.unpriced_units():
            if k > k_t:
                continue  # replaced by the new value above
            before = unit_seconds - (held * ((k + 1) * size - t) if k == k_t else 0.0)
            columns.add(INTEGRAL, k, before * cost)
            columns.add(INTEGRAL, k, -(before * first_price))
        for k, shipped in history.all(SHIPPED):
            columns.add(COGS, k, shipped * cost)
            columns.add(COGS, k, -(shipped * first_price))
        history.drop_units()
        sl.first_snapshot = None
    else:
        for k, shipped in history.records(SHIPPED, k_t + 1, 1 << 62):
            columns.add(COGS, k, shipped * cost)
            columns.add(COGS, k, -(shipped * old_cost))
    history.note_snapshot(k_t, t, cost)
    _move(base, on_hand, t)
    base.in_transit, base.cost = in_transit, cost
    sl.note_inventory(entry, supplier, sku_class)
    if sl.ledger is not None:
        sl.ledger.rebase()
    return True


def apply_late_adjustment(
    sl: SkuLocation, entry: Entry, open_from: float, size: float, columns: ColumnSink
) -> bool:
    """Apply an adjustment of a closed bucket; False when it changes nothing (see the module)."""
    t, delta = entry[0], entry[3]
    history = sl.history
    end = history.next_snapshot_after(t, size) if history is not None else math.inf
    if end == AMBIGUOUS:
        return False
    base = sl.base
    cost = math.nan
    if history is not None:
        cost = history.cost_at(t, size)[0]
    unpriced = False
    if cost != cost:  # no snapshot at or before it in closed history
        if base.cost is not None:
            cost = history.first_cost if history is not None else base.cost
        else:
            cost, unpriced = sl.first_price, True
    stop = min(end, open_from)
    spans = _spread(columns, t, stop, size, cost * delta)
    if unpriced:
        closed = _closed(sl)
        for k, seconds in spans:
            closed.add_units(k, delta * seconds)
    if end >= open_from:
        _move(base, base.on_hand + delta, t)
        if sl.ledger is not None:
            sl.ledger.rebase()
    sl.note_inventory(entry, None, None)
    return True
