"""The processing order of a log as SPEC §4.1 reads it, brute force (for `batch_kpis`).

Walks the valid events in the order given (the processing order), keeping each
location's clock, and decides what the processing order decides:

- an event whose bucket had closed at its location (`t < bucket_start(wm)`, the
  watermark before it) is *late*, counted by input topic; one before the oldest
  bucket any figure reads (`bucket_start(wm) - span + bucket`) is dropped;
  disruption events are late when older than every location's open buckets, and
  never dropped;
- a late snapshot older than its SKU-location's latest applied inventory event is
  superseded (changes nothing); a late adjustment between two applied snapshots
  of its closed bucket is superseded too;
- a late order line starts no stockout episode; the episodes of a bucket are
  frozen when it closes (later events do not re-derive them);
- dispatch lines whose unit cost the engine cannot know exactly get the cost it
  uses: a late line between two snapshots of its closed bucket, the cost at that
  bucket's end; a line of the bucket of a late snapshot newer than every event of
  its SKU-location, the cost it had before (docs/KPI_DEFINITIONS.md, "Late events");
- a late adjustment moves the value of the closed buckets it reaches (up to the next
  applied snapshot, or the open buckets) by `unit cost x delta`, without the
  `max(on_hand, 0)` of the walk (`shifts`);
- the lifetime counters, counted as processed (reading 5 of `batch_kpis`);
- the `policy_source` cohort (SPEC §4.3) of each SKU-location's closed buckets, read
  when the bucket closed from the policies and overrides processed by then (a policy
  applied or overridden later does not move it), and the closed buckets whose late
  corrections went to another cohort than that one (`unsettled`, see `cohorts`).

It shares no code with `streams/core/`: windows and walks are written out again.
"""

from __future__ import annotations

import math
from bisect import bisect_right, insort
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

from streams.events import models as m

DAY = 86400.0
MODEL, PLANNER, NONE = "model", "planner", "none"  # policy sources (SPEC §4.3)
_KIND_RANK = {"inventory.snapshot": 0, "inventory.adjusted": 1}


@cache
def ts(moment: datetime) -> float:
    """UTC epoch seconds (memoised: `timestamp()` of an offset-aware datetime is slow)."""
    return moment.timestamp()


def order_key(event: Any) -> tuple[float, int, str]:
    """Total order of events: time, then snapshot < adjustment < other, then event_id."""
    return (ts(event.occurred_at), _KIND_RANK.get(event.event_type, 2), event.event_id)


def bucket_of(t: float, size: float) -> int:
    """Index of the UTC bucket `[k * size, (k + 1) * size)` holding `t`."""
    k = math.floor(t / size)
    if k * size > t:
        return k - 1
    if (k + 1) * size <= t:
        return k + 1
    return k


def walk(
    inventory: list[Any], orders: list[m.OrderPlaced], skip: set[str]
) -> tuple[list[float], bool]:
    """(episode start times, stocked out at the end) of one SKU's events in event-time order.

    `orders` are the placements with a line of the SKU (one entry per line); those
    whose event id is in `skip` (processed late) start nothing. The position is
    unknown until the first snapshot or adjustment; an order line meeting an
    unknown position starts nothing.
    """
    triggers = [o for o in orders if o.event_id not in skip]
    keyed = sorted([(order_key(e), e) for e in [*inventory, *triggers]], key=lambda p: p[0])
    on_hand, out, starts, known = 0.0, False, [], False
    for (t, _, _), event in keyed:
        if event.event_type == "order.placed":
            if known and on_hand <= 0 and not out:
                out = True
                starts.append(t)
            continue
        known = True
        new = event.on_hand if event.event_type == "inventory.snapshot" else on_hand + event.delta
        if on_hand > 0 and new <= 0:
            out = True
            starts.append(t)
        elif new > 0:
            out = False
        on_hand = new
    return starts, out


@dataclass
class Arrival:
    """What the processing order decided for one location (see the module docstring)."""

    code: str
    accepted: list[Any] = field(default_factory=list)  # events whose facts count
    clock: list[float] = field(default_factory=list)  # times of the events not dropped
    late_orders: set[str] = field(default_factory=set)  # placements processed late
    frozen: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    prices: dict[tuple[str, str], float] = field(default_factory=dict)  # (event_id, line_id)
    # Per SKU, late adjustments' unclamped spans: (from, to, delta).
    shifts: dict[str, list[tuple[float, float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    late: dict[str, int] = field(default_factory=dict)
    open_from: float = -math.inf
    counters: dict[str, float] = field(default_factory=dict)
    # (sku, closed bucket) -> its policy source when the bucket closed; absent: `none`.
    cohorts: dict[tuple[str, int], str] = field(default_factory=dict)
    # (sku, closed bucket) a late correction (or a new first snapshot) reached while the
    # cohort in force at the bucket's start, as then known, was not the one it closed in.
    unsettled: set[tuple[str, int]] = field(default_factory=set)


def policy_source(applied: list[tuple[float, str, str]], t: float, overridden: set[str]) -> str:
    """The source of the policy in force at `t`: the latest of `applied` (sorted `(time,
    event id, recommendation id or "")`) at or before `t`; `model` when it names a
    recommendation not overridden, `planner` otherwise, `none` before any."""
    i = bisect_right([entry[0] for entry in applied], t)
    if i == 0:
        return NONE
    recommendation = applied[i - 1][2]
    return MODEL if recommendation and recommendation not in overridden else PLANNER


class _Pass:
    """One location's clock and counters while the log is walked in processing order."""

    def __init__(self, code: str, size: float, span: float, lateness: float) -> None:
        self.out = Arrival(code)
        self.size, self.span, self.lateness = size, span, lateness
        self.last = -math.inf
        self.inventory: dict[str, list[Any]] = defaultdict(list)  # applied, per SKU
        self.latest: dict[str, tuple[float, int, str]] = {}
        self.dispatches: list[m.ShipmentDispatched] = []  # applied
        # Counters (reading 5).
        self.kept: dict[str, m.OrderPlaced] = {}
        self.first_orders: dict[str, m.OrderPlaced] = {}
        self.waiting_sales: dict[str, list[m.ShipmentDispatched]] = defaultdict(list)
        self.sums: dict[str, list[float]] = defaultdict(list)
        self.cost: dict[str, tuple[tuple[float, str], float]] = {}  # known cost, per SKU
        self.uncosted: dict[str, list[float]] = defaultdict(list)
        self.inventory_seen = -math.inf
        self.counted: dict[str, int] = defaultdict(int)
        self.recommendations: set[str] = set()
        self.stockouts = self.unmatched = 0
        # Cohorts (SPEC §4.3): policies applied per SKU, sorted, and overrides, as processed.
        self.policies: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
        self.overrides: set[str] = set()
        # Late corrections: (sku, closed bucket, source as known then, recommendation in
        # force then or None), judged against the final overrides in `finish`.
        self.touches: list[tuple[str, int, str, str | None]] = []

    # -- clock --------------------------------------------------------------------------------

    def arrive(self, event: Any, topic: str) -> bool:
        """Count a late event; False when it is dropped. Closes buckets the clock passes."""
        t = ts(event.occurred_at)
        out = self.out
        if out.open_from == -math.inf:
            out.open_from = bucket_of(t - self.lateness, self.size) * self.size
        elif t < out.open_from:
            out.late[topic] = out.late.get(topic, 0) + 1
            if t < out.open_from - self.span + self.size:
                return False
        out.clock.append(t)
        if t > self.last:
            self.last = t
            cut = bucket_of(t - self.lateness, self.size) * self.size
            if cut > out.open_from:
                self._close(cut)
        return True

    def _skus(self) -> set[str]:
        named = set(self.inventory)
        named |= {line.sku for o in self.kept.values() for line in o.lines}
        return named

    def _placed(self, sku: str) -> list[m.OrderPlaced]:
        return [o for o in self.kept.values() for line in o.lines if line.sku == sku]

    def _close(self, cut: float) -> None:
        """Freeze the episodes of the buckets the clock just closed; they are settled now."""
        out = self.out
        for sku in self._skus():
            starts, _ = walk(self.inventory[sku], self._placed(sku), out.late_orders)
            out.frozen[sku] += [s for s in starts if out.open_from <= s < cut]
        for k in range(bucket_of(out.open_from, self.size), bucket_of(cut, self.size)):
            for sku, applied in self.policies.items():
                out.cohorts[(sku, k)] = policy_source(applied, k * self.size, self.overrides)
        out.open_from = cut
        for sku in sorted(self._skus()):
            self._recount(sku)

    def _settled(self, sku: str) -> int:
        """Episodes settled: frozen ones, and open ones at or before the latest inventory time."""
        starts, _ = walk(self.inventory[sku], self._placed(sku), self.out.late_orders)
        open_from = self.out.open_from
        return len(self.out.frozen[sku]) + sum(
            1 for s in starts if open_from <= s <= self.inventory_seen
        )

    def _recount(self, sku: str) -> None:
        now = self._settled(sku)
        self.stockouts += max(0, now - self.counted[sku])
        self.counted[sku] = now

    # -- events -------------------------------------------------------------------------------

    def take(self, event: Any, late: bool) -> None:
        """Apply one event that was not dropped (processing order)."""
        kind = event.event_type
        out = self.out
        if kind in ("inventory.snapshot", "inventory.adjusted"):
            self._inventory(event, late)
            return
        out.accepted.append(event)
        if kind == "order.placed":
            if late:
                out.late_orders.add(event.event_id)
            self._placement(event)
        elif kind == "shipment.dispatched":
            self._dispatch(event, late)
        elif kind == "policy.recommended":
            self.recommendations.add(event.recommendation_id)
        elif kind == "policy.overridden":
            if event.recommendation_id not in self.recommendations:
                self.unmatched += 1
            self.overrides.add(event.recommendation_id)
        elif kind == "policy.applied":
            entry = (ts(event.occurred_at), event.event_id, event.recommendation_id or "")
            insort(self.policies[event.sku], entry)

    def _inventory(self, event: Any, late: bool) -> None:
        t, sku = ts(event.occurred_at), event.sku
        key = order_key(event)
        if event.event_type == "inventory.snapshot":
            stamp = (t, event.event_id)
            known = self.cost.get(sku)
            if known is None or stamp > known[0]:
                self.cost[sku] = (stamp, event.unit_cost)
                self.sums["cogs"] += [q * event.unit_cost for q in self.uncosted.pop(sku, [])]
        applied = not late or self._applies(event, key)
        if applied:
            self._touch_cohorts(event, key, late)
            if late and event.event_type == "inventory.snapshot":
                self._keep_prices(event)
            if late and event.event_type == "inventory.adjusted":
                after = [
                    ts(e.occurred_at)
                    for e in self.inventory[sku]
                    if e.event_type == "inventory.snapshot" and ts(e.occurred_at) > t
                ]
                stop = min([self.out.open_from, *after])
                if stop > t:
                    self.out.shifts[sku].append((t, stop, event.delta))
            self.out.accepted.append(event)
            self.inventory[sku].append(event)
            self.latest[sku] = max(self.latest.get(sku, key), key)
        before, self.inventory_seen = self.inventory_seen, max(self.inventory_seen, t)
        changed = {sku} | {
            line.sku
            for o in self.kept.values()
            if before < ts(o.occurred_at) <= self.inventory_seen
            for line in o.lines
        }
        for name in sorted(changed):
            self._recount(name)

    def _touch_cohorts(self, event: Any, key: tuple[float, int, str], late: bool) -> None:
        """Note the closed buckets an applied inventory event corrects: a late one those from
        its bucket on, a new first snapshot (it prices what came before it) every one."""
        sku = event.sku
        first = event.event_type == "inventory.snapshot" and not any(
            e.event_type == "inventory.snapshot" and order_key(e) < key for e in self.inventory[sku]
        )
        if first:
            lo = bucket_of(min(self.out.clock), self.size)  # the location's first bucket
        elif late:
            lo = bucket_of(key[0], self.size)
        else:
            return
        for k in range(lo, bucket_of(self.out.open_from, self.size)):
            self._touch(sku, k)

    def _touch(self, sku: str, k: int) -> None:
        applied = self.policies.get(sku, [])
        i = bisect_right([entry[0] for entry in applied], k * self.size)
        in_force = applied[i - 1][2] if i else None
        self.touches.append(
            (sku, k, policy_source(applied, k * self.size, self.overrides), in_force)
        )

    def _snapshots(self, sku: str, t: float) -> list[Any]:
        """Applied snapshots of the SKU in `t`'s bucket."""
        k = bucket_of(t, self.size)
        return [
            e
            for e in self.inventory[sku]
            if e.event_type == "inventory.snapshot" and bucket_of(ts(e.occurred_at), self.size) == k
        ]

    def _applies(self, event: Any, key: tuple[float, int, str]) -> bool:
        """Whether a late inventory event changes anything (see the module docstring)."""
        sku, t = event.sku, ts(event.occurred_at)
        if event.event_type == "inventory.snapshot":
            return sku not in self.latest or key > self.latest[sku]
        times = [ts(e.occurred_at) for e in self._snapshots(sku, t)]
        return not (any(x <= t for x in times) and any(x > t for x in times))

    def _cost_at(self, sku: str, t: float) -> float:
        """Unit cost at `t` over the applied snapshots: the latest at or before, else the first."""
        snaps = sorted(
            (order_key(e), e) for e in self.inventory[sku] if e.event_type == "inventory.snapshot"
        )
        found = [e for k, e in snaps if k[0] <= t]
        if found:
            return float(found[-1].unit_cost)
        return float(snaps[0][1].unit_cost) if snaps else 0.0

    def _keep_prices(self, snapshot: Any) -> None:
        """A late snapshot newer than every event of its SKU: the lines of its own bucket keep
        their unit cost (the engine cannot tell which of them followed it)."""
        sku, t = snapshot.sku, ts(snapshot.occurred_at)
        if not any(e.event_type == "inventory.snapshot" for e in self.inventory[sku]):
            return  # its first snapshot prices every line exactly
        k = bucket_of(t, self.size)
        for dispatch in self.dispatches:
            d = ts(dispatch.occurred_at)
            if bucket_of(d, self.size) != k or d < t:
                continue
            for line in dispatch.lines:
                if line.sku == sku:
                    key = (dispatch.event_id, line.line_id)
                    self.out.prices.setdefault(key, self._cost_at(sku, d))

    def _placement(self, event: m.OrderPlaced) -> None:
        changed: set[str] = set()
        previous = self.kept.get(event.order_id)
        if previous is None or order_key(event) < order_key(previous):
            self.kept[event.order_id] = event
            changed = {line.sku for line in event.lines}
            if previous is not None:
                changed |= {line.sku for line in previous.lines}
        if event.order_id not in self.first_orders:
            self.first_orders[event.order_id] = event
            self.sums["ordered"].append(math.fsum(line.quantity for line in event.lines))
            self.sums["sales"] += [
                _price(d, event) for d in self.waiting_sales.pop(event.order_id, [])
            ]
        for sku in sorted(changed):
            self._recount(sku)

    def _dispatch(self, event: m.ShipmentDispatched, late: bool) -> None:
        self.dispatches.append(event)
        t = ts(event.occurred_at)
        self.sums["shipped"].append(math.fsum(line.quantity for line in event.lines))
        self.sums["expedite"].append(event.expedite_cost)
        placed = self.first_orders.get(event.order_id)
        if placed is None:
            self.waiting_sales[event.order_id].append(event)
        else:
            self.sums["sales"].append(_price(event, placed))
        for line in event.lines:
            if line.sku in self.cost:
                self.sums["cogs"].append(line.quantity * self.cost[line.sku][1])
            else:
                self.uncosted[line.sku].append(line.quantity)
            if late:
                self._touch(line.sku, bucket_of(t, self.size))
                snaps = self._snapshots(line.sku, t)
                times = [ts(e.occurred_at) for e in snaps]
                if any(x <= t for x in times) and any(x > t for x in times):
                    # Between two snapshots of its closed bucket: the cost at its end.
                    last = max(snaps, key=order_key)
                    self.out.prices[(event.event_id, line.line_id)] = float(last.unit_cost)

    def finish(self) -> Arrival:
        out = self.out
        for sku, k, then, in_force in self.touches:
            # The engine reads the overrides when it settles the correction, which may be a
            # little after it was processed: an override in between would count (overrides
            # only turn `model` into `planner`, so the final ones bound it).
            final = NONE if in_force is None else PLANNER
            if in_force and in_force not in self.overrides:
                final = MODEL
            if {then, final} != {out.cohorts.get((sku, k), NONE)}:
                out.unsettled.add((sku, k))
        out.counters = {
            "inventory_units_ordered_total": math.fsum(self.sums["ordered"]),
            "inventory_units_shipped_total": math.fsum(self.sums["shipped"]),
            "inventory_sales_dollars_total": math.fsum(self.sums["sales"]),
            "inventory_cogs_dollars_total": math.fsum(self.sums["cogs"]),
            "inventory_expedite_cost_dollars_total": math.fsum(self.sums["expedite"]),
            "inventory_stockouts_total": float(self.stockouts),
            "inventory_overrides_unmatched_total": float(self.unmatched),
        }
        return out


def _price(dispatch: m.ShipmentDispatched, placed: m.OrderPlaced) -> float:
    prices = {line.line_id: line.unit_price for line in placed.lines}
    return math.fsum(line.quantity * prices.get(line.line_id, 0.0) for line in dispatch.lines)


def arrive(
    events: list[Any], size: float, span: float, lateness: float
) -> tuple[dict[str, Arrival], list[Any], dict[str, int]]:
    """Walk the log in processing order: per location what it decided, the disruption events
    (never dropped) and the late counts of events without a location."""
    passes: dict[str, _Pass] = {}
    global_events: list[Any] = []
    global_late: dict[str, int] = {}
    for event in events:
        topic = m.TOPIC_OF[event.event_type]
        location = getattr(event, "location", None)
        if location is None:
            newest = max((p.out.open_from for p in passes.values()), default=-math.inf)
            if ts(event.occurred_at) < newest:
                global_late[topic] = global_late.get(topic, 0) + 1
            global_events.append(event)
            continue
        state = passes.get(location)
        if state is None:
            state = passes[location] = _Pass(location, size, span, lateness)
        late = state.out.open_from != -math.inf and ts(event.occurred_at) < state.out.open_from
        if state.arrive(event, topic):
            state.take(event, late)
    return {code: p.finish() for code, p in passes.items()}, global_events, global_late
