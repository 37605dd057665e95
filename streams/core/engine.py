"""The KPI engine: events in (each once), samples and views out; state by bucket.

`add()` only records (appends and dict updates) and marks the locations the
event can change as dirty; when an event moves a location's watermark past a
bucket's end it closes that bucket (`streams.core.closing`), which folds the
bucket's raw events into per-bucket totals. `samples()`, `sku_locations()`,
`disruptions()` and `location_kpis()` recompute the dirty locations and serve
everything else from the per-location cache.

Lateness (SPEC §4.1): an event whose bucket had closed at its location when it
was processed is *late*: it is counted by input topic (`late_totals()`) and
applied where that is exact (`streams.core.late` for inventory; orders,
shipments, forecasts and plans land in their bucket or order as if on time);
one older than the longest span any figure reads is counted and dropped.
Disruptions have no location: one is late when it is older than the open
buckets of the most advanced location, and is always applied.

Every output but the lifetime counters and what late events changed is a pure
function of the set of events added (the worker de-duplicates by event_id; an
event added twice would count twice): ties are broken by event kind and event
id, sums are exact or canonically ordered, "latest" means the greatest
`(occurred_at, event_id)`, and of an order or a disruption id published twice
the earliest publication counts. The counters (`*_total`) only go up: they
count facts in the order events were added (`streams.core.counters`).

Checkpoints (`streams.core.checkpoint`): each location's state is
self-contained and dumped on its own; the global part (disruptions, supplier
lead times, late counts of events without a location) is small and separate.
Feeding events, dumping, restoring and feeding the rest gives exactly what
feeding them all gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from streams.core import checkpoint
from streams.core.closing import close_buckets
from streams.core.context import Context
from streams.core.emit import location_samples
from streams.core.figures import LocationFigures
from streams.core.kpis import location_figures
from streams.core.location import (
    APPLIED,
    CANCELLED,
    DISPATCHED,
    INVENTORY,
    PLACED,
    RECEIVED,
    LocationState,
)
from streams.core.orders import dispatch_record, order_record
from streams.core.planning import DisruptionRecord
from streams.core.position import ADJUSTMENT, SNAPSHOT
from streams.core.pruning import prune_location
from streams.core.samples import Sample
from streams.core.uncertainty import z_score
from streams.core.views import DisruptionView, SkuLocationView, disruption_views
from streams.core.windows import DAY, bucket_start
from streams.events import wire as w
from streams.events.models import TOPIC_OF
from streams.settings import KpiSettings


@dataclass(frozen=True, slots=True)
class LocationFailure:
    """One location whose figures could not be (wholly) computed.

    `reason` is `exception` (its previous figures are kept) or `non_finite` (the
    non-finite samples were dropped); `detail` is the error or the metric names.
    """

    location: str
    reason: str
    detail: str


class KpiEngine:
    """Bucketed KPI state of every location (see the module docstring)."""

    def __init__(self, settings: KpiSettings) -> None:
        self.settings = settings
        self._ctx = Context.of(settings, z_score(settings.service_target))
        self._size = self._ctx.size
        self._span = self._ctx.span
        self._lateness = self._ctx.lateness
        self._locations: dict[str, LocationState] = {}
        self._supplier_locations: dict[str, set[str]] = {}
        self._late: dict[str, int] = {}  # late events without a location, by topic
        self._dirty: set[str] = set()  # locations to recompute
        self._changed: set[str] = set()  # locations changed since the last checkpoint
        self._global_changed = False
        self._figures: dict[str, LocationFigures] = {}
        self._samples: dict[str, list[Sample]] = {}
        self._disruption_views: list[DisruptionView] | None = None
        # Locations whose recompute failed or produced non-finite values, oldest first;
        # the adapter logs, counts and clears them (`take_failures`).
        self.failures: list[LocationFailure] = []
        # Keyed by `event_type`, not by class. The handlers are typed against the msgspec
        # structs (`streams.events.wire`) the worker decodes into, so mypy checks the hot
        # path; the pydantic models (same names, fields and `event_type`) duck-type.
        self._handlers: dict[str, Callable[[Any, float], None]] = {
            "order.placed": self._order_placed,
            "order.cancelled": self._order_cancelled,
            "shipment.dispatched": self._dispatched,
            "shipment.delivered": self._delivered,
            "inbound.received": self._received,
            "inventory.snapshot": self._snapshot,
            "inventory.adjusted": self._adjusted,
            "disruption.reported": self._disruption_reported,
            "disruption.resolved": self._disruption_resolved,
            "forecast.published": self._forecast,
            "policy.recommended": self._recommended,
            "policy.overridden": self._overridden,
            "policy.applied": self._applied,
        }

    # -- recording -----------------------------------------------------------------------

    def add(self, event: Any, at: float | None = None) -> None:
        """Record one valid event (O(1) amortised; nothing is recomputed here).

        `event` is a `streams.events.wire` struct (what the worker decodes into) or any
        object with the same attributes (the pydantic models of `streams.events.models`,
        as tests and `kpimon alerts check` build them); its handler is
        chosen by `event.event_type`. `at` is `event.occurred_at` as epoch seconds
        when the caller has it already (the worker computes it once per event for
        its lag histogram too); None computes it here.
        """
        t = event.occurred_at.timestamp() if at is None else at
        self._handlers[event.event_type](event, t)

    def _touch(self, code: str, t: float, kind: str) -> LocationState | None:
        """The location of an event at `t`, its clock moved; None when the event is dropped.

        An event before the location's open buckets is late (counted); one before
        the horizon is dropped too. An event that moves the watermark past a
        bucket's end closes that bucket first.
        """
        state = self._locations.get(code)
        if state is None:
            state = self._locations[code] = LocationState(
                code, bucket_start(t - self._lateness, self._size)
            )
            state.ctx = self._ctx
        elif t < state.open_from:  # late: its bucket has closed
            state.count_late(TOPIC_OF[kind])
            self._changed.add(code)
            if t < state.open_from - self._span + self._size:
                return None  # older than any window: dropped
        if t < state.first_at:
            state.first_at = t
        if t > state.last_at:  # the location clock, inline: this runs for every event
            state.last_at = t
            if t - self._lateness >= state.open_from + self._size:
                self._close(state, t - self._lateness)
        state.events += 1
        self._dirty.add(code)
        self._changed.add(code)
        return state

    def _close(self, state: LocationState, wm: float) -> None:
        """Close the location's buckets the watermark passed; a failure stays with it.

        The blast radius of one bad event is its location (as in `_compute`): an
        exception while folding is recorded for the adapter, and the location's open
        buckets move on so that the next event does not fail again.
        """
        try:
            close_buckets(state, self._ctx, wm)
        except Exception as error:  # contained: see the docstring
            self.failures.append(LocationFailure(state.code, "exception", repr(error)[:500]))
            state.pending.clear()
            state.open_from = max(state.open_from, bucket_start(wm, self._size))

    # The handlers run once per event. Those of the frequent kinds only append to the
    # location (`LocationState.settle` hands the events to the SKU-locations later) and
    # read each event field once.

    def _order_placed(self, e: w.OrderPlaced, t: float) -> None:
        state = self._touch(e.location, t, "order.placed")
        if state is None:
            return
        order = order_record(e, t, e.promised_at.timestamp())
        book = state.book
        cancelled = order.key in book.cancelled
        kept, displaced = book.add_order(order)
        # Dispatches that arrived before the order were priced without it.
        waiting = book.dispatches.get(order.key) if kept and displaced is None else None
        earlier = tuple(waiting) if waiting else ()
        first = kept and displaced is None
        late = t < state.open_from
        state.pending.append((PLACED, order, kept, first, earlier, displaced, cancelled, late))

    def _order_cancelled(self, e: w.OrderCancelled, t: float) -> None:
        state = self._touch(e.location, t, "order.cancelled")
        if state is None:
            return
        key = (e.location, e.order_id)
        book = state.book
        already = key in book.cancelled
        book.cancel(key)
        state.pending.append((CANCELLED, book.orders.get(key), already))

    def _dispatched(self, e: w.ShipmentDispatched, t: float) -> None:
        state = self._touch(e.location, t, "shipment.dispatched")
        if state is None:
            return
        dispatch = dispatch_record(e, t)
        book = state.book
        placement = book.first_placement(dispatch.order_key)  # priced now, for the counter
        book.add_dispatch(dispatch)
        state.pending.append((DISPATCHED, dispatch, placement, t < state.open_from))

    def _delivered(self, e: w.ShipmentDelivered, t: float) -> None:
        state = self._touch(e.location, t, "shipment.delivered")
        if state is not None:
            state.book.add_delivery((e.location, e.shipment_id), (e.location, e.order_id), t)

    def _received(self, e: w.InboundReceived, t: float) -> None:
        state = self._touch(e.location, t, "inbound.received")
        if state is None:
            return
        lead_days = (t - e.ordered_at.timestamp()) / DAY
        self._ctx.suppliers.add(e.supplier_id, lead_days)
        self._global_changed = True
        state.receipts.add(e.sku, lead_days)
        state.pending.append((RECEIVED, e.sku, t, e.event_id, e.supplier_id))
        self._uses_supplier(e.supplier_id, e.location)

    def _uses_supplier(self, supplier: str, code: str) -> None:
        # Receipts of a supplier move the lead times of every location it serves.
        served = self._supplier_locations.setdefault(supplier, set())
        if code not in served:
            served.add(code)
            self._global_changed = True
        self._dirty.update(served)

    def _snapshot(self, e: w.InventorySnapshot, t: float) -> None:
        location, supplier = e.location, e.supplier_id
        state = self._touch(location, t, "inventory.snapshot")
        if state is None:
            return
        entry = (t, SNAPSHOT, e.event_id, e.on_hand, e.in_transit, e.unit_cost)
        state.pending.append((INVENTORY, e.sku, entry, supplier, e.sku_class, t < state.open_from))
        if supplier is not None:
            served = self._supplier_locations.get(supplier)
            if served is None:
                served = self._supplier_locations[supplier] = set()
            if location not in served:
                served.add(location)
                self._global_changed = True

    def _adjusted(self, e: w.InventoryAdjusted, t: float) -> None:
        state = self._touch(e.location, t, "inventory.adjusted")
        if state is None:
            return
        entry = (t, ADJUSTMENT, e.event_id, e.delta, 0.0, 0.0)
        state.pending.append((INVENTORY, e.sku, entry, None, None, t < state.open_from))

    def _global_event(self, t: float, kind: str) -> None:
        """A disruption event: counted late when older than every location's open buckets.

        Every location settles first, so what its pending events see of the
        disruptions does not depend on when it settles.
        """
        newest = max((s.open_from for s in self._locations.values()), default=-math.inf)
        if t < newest:
            topic = TOPIC_OF[kind]
            self._late[topic] = self._late.get(topic, 0) + 1
        for state in self._locations.values():
            try:
                state.settle()
            except Exception as error:  # contained to the location, as in `_close`
                self.failures.append(LocationFailure(state.code, "exception", repr(error)[:500]))
                state.pending.clear()
        self._global_changed = True
        self._dirty.update(self._locations)  # coverage can reach any location

    def _disruption_reported(self, e: w.DisruptionReported, t: float) -> None:
        self._global_event(t, "disruption.reported")
        record = DisruptionRecord(
            e.disruption_id, e.event_id, t, e.kind, e.severity,
            e.supplier_id, tuple(e.locations), tuple(e.skus), e.expected_delay_days, e.description,
        )  # fmt: skip
        self._ctx.disruptions.report(record)

    def _disruption_resolved(self, e: w.DisruptionResolved, t: float) -> None:
        self._global_event(t, "disruption.resolved")
        self._ctx.disruptions.resolve(e.disruption_id, t)

    def _forecast(self, e: w.ForecastPublished, t: float) -> None:
        state = self._touch(e.location, t, "forecast.published")
        if state is not None:
            key = (e.sku, e.period_start.timestamp(), e.period_end.timestamp())
            state.forecasts.add(key, t, e.event_id, e.quantity)

    def _recommended(self, e: w.PolicyRecommended, t: float) -> None:
        state = self._touch(e.location, t, "policy.recommended")
        if state is not None:
            state.planning.recommend(
                t, e.event_id, e.recommendation_id, state.open_from, self._size
            )

    def _overridden(self, e: w.PolicyOverridden, t: float) -> None:
        state = self._touch(e.location, t, "policy.overridden")
        if state is not None:
            state.planning.override(t, e.recommendation_id, state.open_from, self._size)

    def _applied(self, e: w.PolicyApplied, t: float) -> None:
        state = self._touch(e.location, t, "policy.applied")
        if state is not None:
            state.pending.append(
                (APPLIED, t, e.event_id, e.sku, t < state.open_from, e.recommendation_id or "")
            )

    # -- reading -------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Recompute the locations that changed since the last read."""
        if self._dirty:
            self.refresh(self.changed_locations())

    def refresh(self, codes: Iterable[str]) -> None:
        """Recompute those of `codes` that changed since they were last computed.

        Lets the worker spread a large recompute over event-loop turns, a slice of
        `changed_locations()` at a time.
        """
        dirty = self._dirty
        for code in codes:
            if code in dirty:
                dirty.discard(code)
                self._compute(code)
        self._disruption_views = None

    def _compute(self, code: str) -> None:
        """Recompute one location; a failure is contained to it (see `failures`).

        The blast radius of one bad event is its location: an exception while
        computing it leaves its previous figures in place (its series go stale,
        every other location stays fresh) and is recorded for the adapter to log
        and count. Non-finite values are dropped from its samples and counted.
        """
        try:
            figures = location_figures(self._locations[code], self._ctx)
            samples = location_samples(figures, self.settings.top_at_risk)
        except Exception as error:  # contained: see the docstring
            self.failures.append(LocationFailure(code, "exception", repr(error)[:500]))
            return
        finite = [s for s in samples if math.isfinite(s.value)]
        if len(finite) != len(samples):
            names = sorted({s.name for s in samples if not math.isfinite(s.value)})
            self.failures.append(LocationFailure(code, "non_finite", ", ".join(names)[:500]))
        self._figures[code] = figures
        self._samples[code] = finite

    def take_failures(self) -> list[LocationFailure]:
        """The failures recorded since the last call (and forget them)."""
        failures, self.failures = self.failures, []
        return failures

    def changed_locations(self) -> list[str]:
        """Codes of the locations changed since they were last computed, sorted."""
        return sorted(self._dirty)

    def as_computed(self) -> ComputedFigures:
        """The figures as last computed: reads that recompute nothing (see ComputedFigures)."""
        return ComputedFigures(self)

    def samples(self) -> list[Sample]:
        """Every KPI sample of every location and window, locations in code order."""
        self._refresh()
        return [s for code in sorted(self._samples) for s in self._samples[code]]

    def sku_locations(self) -> list[SkuLocationView]:
        """A view per SKU-location, by location then SKU."""
        self._refresh()
        return [v for code in sorted(self._figures) for v in self._figures[code].views]

    def location_kpis(self, location: str, window: str) -> dict[str, float]:
        """The ratio KPIs of one location and window by short name (see LocationFigures.kpis).

        Absent KPIs are left out; an empty dict for an unknown location or window.
        """
        self._refresh()
        figures = self._figures.get(location)
        return figures.kpis(window) if figures is not None else {}

    def locations(self) -> list[str]:
        """Location codes seen, sorted."""
        return sorted(self._locations)

    def activity(self) -> dict[str, int]:
        """Events recorded per location: what fills the exporter's location cap (SPEC §5)."""
        return {code: state.events for code, state in self._locations.items()}

    def watermark(self, location: str) -> float | None:
        """The location's watermark (epoch seconds), None for an unknown location."""
        state = self._locations.get(location)
        return state.watermark(self._lateness) if state else None

    def late_totals(self) -> dict[str, int]:
        """Events counted late since this engine's state began, by input topic (unprefixed).

        Dropped ones (older than any window) included; cumulative, and checkpointed.
        """
        totals = dict(self._late)
        for state in self._locations.values():
            for topic, count in state.late.items():
                totals[topic] = totals.get(topic, 0) + count
        return dict(sorted(totals.items()))

    def disruptions(self) -> list[DisruptionView]:
        """Every disruption seen, by id, with the SKU-locations it covers now.

        Coverage (and so value at risk and projected stockouts) is worked out for
        active disruptions only, with every filter the disruption carries
        (`DisruptionRecord.covers`): the same test as working capital at risk and
        time-to-replan. A resolved one covers nothing any more.
        """
        self._refresh()
        if self._disruption_views is None:
            self._disruption_views = disruption_views(self._ctx.disruptions, self.sku_locations())
        return self._disruption_views

    # -- forgetting ----------------------------------------------------------------------

    def prune(self) -> int:
        """Drop state no window can see any more; returns the number of items dropped.

        Exported figures are unchanged, now and as events continue: see
        `streams.core.pruning`.
        """
        dropped = sum(prune_location(state, self._ctx) for state in self._locations.values())
        self._dirty.update(self._locations)
        return dropped

    # -- checkpoints ---------------------------------------------------------------------

    def take_checkpoint_set(self) -> tuple[set[str], bool]:
        """`(locations changed, global part changed)` since the last call; resets both."""
        changed, self._changed = self._changed, set()
        changed_global, self._global_changed = self._global_changed, False
        return changed, changed_global

    def dump_location(self, code: str) -> bytes:
        """One location's state as a self-contained blob (see `streams.core.checkpoint`)."""
        state = self._locations[code]
        state.settle()
        return checkpoint.dump_location(self.settings, state)

    def dump_global(self) -> bytes:
        """The state shared by all locations as a blob (see `streams.core.checkpoint`)."""
        return checkpoint.dump_global(
            self.settings,
            checkpoint.GlobalState(
                disruptions=self._ctx.disruptions,
                suppliers=self._ctx.suppliers,
                supplier_locations=self._supplier_locations,
                late=self._late,
            ),
        )

    @classmethod
    def restore(
        cls, settings: KpiSettings, global_blob: bytes | None, location_blobs: Iterable[bytes]
    ) -> KpiEngine:
        """An engine from checkpoint blobs (the global one may be missing: none was taken).

        Raises `checkpoint.CheckpointError` when a blob is of another format or was
        taken with settings that shape the state differently (bucket length, span).
        """
        engine = cls(settings)
        if global_blob is not None:
            found = checkpoint.load_global(settings, global_blob)
            engine._ctx.disruptions = found.disruptions
            engine._ctx.suppliers = found.suppliers
            engine._supplier_locations = found.supplier_locations
            engine._late = found.late
        for blob in location_blobs:
            state = checkpoint.load_location(settings, blob)
            state.ctx = engine._ctx
            engine._locations[state.code] = state
        engine._dirty.update(engine._locations)
        return engine


class ComputedFigures:
    """An engine's figures as last computed, without recomputing what changed since.

    The worker recomputes changed locations a slice at a time between batches
    (`KpiEngine.refresh`), then writes the snapshot and evaluates the alert
    rules from this view, so neither blocks ingestion for a full recompute. A
    location changed during the pass shows its previous figures until the next one;
    a location never computed yet is absent.
    """

    def __init__(self, engine: KpiEngine) -> None:
        self._engine = engine

    def samples(self, locations: Iterable[str] | None = None) -> list[Sample]:
        """The samples of `locations` (default: all), locations in code order."""
        cached = self._engine._samples
        codes = sorted(cached) if locations is None else sorted(set(locations) & cached.keys())
        return [s for code in codes for s in cached[code]]

    def sku_locations(self) -> list[SkuLocationView]:
        figures = self._engine._figures
        return [v for code in sorted(figures) for v in figures[code].views]

    def location_kpis(self, location: str, window: str) -> dict[str, float]:
        figures = self._engine._figures.get(location)
        return figures.kpis(window) if figures is not None else {}

    def locations(self) -> list[str]:
        return self._engine.locations()

    def watermark(self, location: str) -> float | None:
        return self._engine.watermark(location)

    def disruptions(self) -> list[DisruptionView]:
        return disruption_views(self._engine._ctx.disruptions, self.sku_locations())
