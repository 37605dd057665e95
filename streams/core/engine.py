"""The KPI engine: events in (any order, each once), samples and views out.

`add()` only records (appends and dict updates, no computation) and marks the
locations the event can change as dirty. `samples()`, `sku_locations()`,
`disruptions()` and `location_kpis()` recompute the dirty locations and serve
everything else from the per-location cache.

Every output but the lifetime counters is a pure function of the set of events
added (the worker de-duplicates by event_id; an event added twice would count
twice): ties are broken by event kind and event id, sums are exact or
canonically ordered, "latest" means the greatest `(occurred_at, event_id)`, and
of an order or a disruption id published twice the earliest publication counts.
The counters (`*_total`) only go up: they count facts in the order events were
added (`streams.core.counters`), never depending on when figures are read, so
replaying the same events in the same order gives them back exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from streams.core.emit import location_samples
from streams.core.figures import LocationFigures
from streams.core.kpis import Context, location_figures
from streams.core.location import DISPATCHED, INVENTORY, PLACED, LocationState
from streams.core.orders import ServiceBook, dispatch_record, order_record
from streams.core.planning import DisruptionBook, DisruptionRecord
from streams.core.position import ADJUSTMENT, ORDER_LINE, SNAPSHOT
from streams.core.pruning import prune_engine
from streams.core.samples import Sample
from streams.core.sku_location import latest
from streams.core.uncertainty import LeadTimeBook, z_score
from streams.core.views import DisruptionView, SkuLocationView, disruption_views
from streams.core.windows import DAY, parse_duration
from streams.events import models as m
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
    """Event-sourced KPI state of every location (see the module docstring)."""

    def __init__(self, settings: KpiSettings) -> None:
        self.settings = settings
        self._locations: dict[str, LocationState] = {}
        self._book = ServiceBook()
        self._disruptions = DisruptionBook()
        self._supplier_locations: dict[str, set[str]] = {}
        self._ctx = Context(
            settings=settings,
            windows=tuple((label, parse_duration(label)) for label in settings.windows),
            z=z_score(settings.service_target),
            book=self._book,
            suppliers=LeadTimeBook(),
            own_receipts=LeadTimeBook(),
            disruptions=self._disruptions,
        )
        self._dirty: set[str] = set()
        self._figures: dict[str, LocationFigures] = {}
        self._samples: dict[str, list[Sample]] = {}
        self._disruption_views: list[DisruptionView] | None = None
        # Locations whose recompute failed or produced non-finite values, oldest first;
        # the adapter logs, counts and clears them (`take_failures`).
        self.failures: list[LocationFailure] = []
        # Keyed by `event_type`, not by class: events arrive as the pydantic models or
        # as their msgspec mirrors (same names, fields and `event_type`), read by duck typing.
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

        `event` is a `streams.events.models` event or any object with the same
        attributes (the msgspec structs the worker decodes into); its handler is
        chosen by `event.event_type`. `at` is `event.occurred_at` as epoch seconds
        when the caller has it already (the worker computes it once per event for
        its lag histogram too); None computes it here.
        """
        t = event.occurred_at.timestamp() if at is None else at
        self._handlers[event.event_type](event, t)

    def _touch(self, code: str, t: float) -> LocationState:
        state = self._locations.get(code)
        if state is None:
            state = self._locations[code] = LocationState(code)
        if t < state.first_at:  # the location clock, inline: this runs for every event
            state.first_at = t
        if t > state.last_at:
            state.last_at = t
        state.events += 1
        self._dirty.add(code)
        return state

    # The handlers run once per event. Those of the frequent kinds only append to the
    # location (`LocationState.settle` hands the events to the SKU-locations later) and
    # read each event field once.

    def _order_placed(self, e: m.OrderPlaced, t: float) -> None:
        state = self._touch(e.location, t)
        order = order_record(e, t, e.promised_at.timestamp())
        book = self._book
        kept, displaced = book.add_order(order)
        withdrawn_skus: tuple[str, ...] = ()
        if displaced is not None:
            state.settle()  # the displaced placement's lines may still be recorded only
            withdrawn = (displaced.placed_at, ORDER_LINE, displaced.event_id, 0.0, 0.0, 0.0)
            for _line_id, sku, _quantity, _price in displaced.lines:
                sl = state.sku(sku)
                sl.ledger.remove(withdrawn)
                sl.reset_demand()
            withdrawn_skus = tuple(line[1] for line in displaced.lines)
        # Dispatches that arrived before the order were priced without it.
        waiting = book.dispatches.get(order.key) if kept else None
        first = kept and displaced is None
        earlier = tuple(waiting) if first and waiting else ()
        state.pending.append((PLACED, order, kept, first, earlier, withdrawn_skus))
        if waiting:
            state.unpriced.update({dispatch.event_id: dispatch for dispatch in waiting})

    def _order_cancelled(self, e: m.OrderCancelled, t: float) -> None:
        state = self._touch(e.location, t)
        key = (e.location, e.order_id)
        self._book.cancel(key)
        order = self._book.orders.get(key)
        if order is not None:
            for sku in {sku for _line_id, sku, _quantity, _price in order.lines}:
                state.sku(sku).cancel(order)

    def _dispatched(self, e: m.ShipmentDispatched, t: float) -> None:
        dispatch = dispatch_record(e, t)
        book = self._book
        placement = book.first_placement(dispatch.order_key)  # priced now, for the counter
        kept = placement is book.orders.get(dispatch.order_key)  # the windowed price too
        book.add_dispatch(dispatch)
        self._touch(e.location, t).pending.append((DISPATCHED, dispatch, placement, kept))

    def _delivered(self, e: m.ShipmentDelivered, t: float) -> None:
        self._touch(e.location, t)
        self._book.add_delivery((e.location, e.shipment_id), (e.location, e.order_id), t)

    def _received(self, e: m.InboundReceived, t: float) -> None:
        state = self._touch(e.location, t)
        lead_days = (t - e.ordered_at.timestamp()) / DAY
        self._ctx.suppliers.add(e.supplier_id, lead_days)
        self._ctx.own_receipts.add((e.location, e.sku), lead_days)
        sl = state.sku(e.sku)
        sl.receipt_supplier = latest(sl.receipt_supplier, (t, e.event_id, e.supplier_id))
        sl.seen(t)
        self._uses_supplier(e.supplier_id, e.location)

    def _uses_supplier(self, supplier: str, code: str) -> None:
        # Receipts of a supplier move the lead times of every location it serves.
        served = self._supplier_locations.setdefault(supplier, set())
        served.add(code)
        self._dirty.update(served)

    def _snapshot(self, e: m.InventorySnapshot, t: float) -> None:
        location, supplier = e.location, e.supplier_id
        entry = (t, SNAPSHOT, e.event_id, e.on_hand, e.in_transit, e.unit_cost)
        self._touch(location, t).pending.append((INVENTORY, e.sku, entry, supplier, e.sku_class))
        if supplier is not None:
            served = self._supplier_locations.get(supplier)
            if served is None:
                served = self._supplier_locations[supplier] = set()
            served.add(location)

    def _adjusted(self, e: m.InventoryAdjusted, t: float) -> None:
        entry = (t, ADJUSTMENT, e.event_id, e.delta, 0.0, 0.0)
        self._touch(e.location, t).pending.append((INVENTORY, e.sku, entry, None, None))

    def _disruption_reported(self, e: m.DisruptionReported, t: float) -> None:
        record = DisruptionRecord(
            e.disruption_id, e.event_id, t, e.kind, e.severity,
            e.supplier_id, tuple(e.locations), tuple(e.skus), e.expected_delay_days, e.description,
        )  # fmt: skip
        self._disruptions.report(record)
        self._dirty.update(self._locations)  # coverage can reach any location

    def _disruption_resolved(self, e: m.DisruptionResolved, t: float) -> None:
        self._disruptions.resolve(e.disruption_id, t)
        self._dirty.update(self._locations)

    def _forecast(self, e: m.ForecastPublished, t: float) -> None:
        key = (e.sku, e.period_start.timestamp(), e.period_end.timestamp())
        self._touch(e.location, t).forecasts.add(key, t, e.event_id, e.quantity)

    def _recommended(self, e: m.PolicyRecommended, t: float) -> None:
        self._touch(e.location, t).planning.recommend(t, e.event_id, e.recommendation_id)

    def _overridden(self, e: m.PolicyOverridden, t: float) -> None:
        self._touch(e.location, t).planning.override(t, e.recommendation_id)

    def _applied(self, e: m.PolicyApplied, t: float) -> None:
        self._touch(e.location, t).planning.apply(t, e.event_id, e.sku)

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
        """The KPIs of a location and window by short name, for alert rules.

        Keys (absent when the KPI is): fill_rate, line_fill_rate, otif, turns,
        days_inventory_outstanding, excess_obsolete, stockout_events, forecast_wape,
        forecast_mape, expedite_cost_sales, expedite_cost, sales,
        service_per_million, cost_to_service_slope, working_capital_at_risk,
        working_capital_at_risk_share, inventory_value, average_inventory_value,
        policy_changes_per_sku_location, planner_override,
        time_to_replan_median_seconds, covered_days. Empty for an unknown
        location or window.
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
        return state.watermark(self.settings.allowed_lateness_seconds) if state else None

    def disruptions(self) -> list[DisruptionView]:
        """Every disruption seen, by id, with the SKU-locations it covers now.

        Coverage (and so value at risk and projected stockouts) is worked out for
        active disruptions only, with every filter the disruption carries
        (`DisruptionRecord.covers`): the same test as working capital at risk and
        time-to-replan. A resolved one covers nothing any more.
        """
        self._refresh()
        if self._disruption_views is None:
            self._disruption_views = disruption_views(self._disruptions, self.sku_locations())
        return self._disruption_views

    # -- forgetting ----------------------------------------------------------------------

    def prune(self) -> int:
        """Drop state no window can see any more; returns the number of items dropped.

        Exported figures are unchanged: see `streams.core.pruning`.
        """
        dropped = prune_engine(self._locations, self._ctx, self.settings)
        self._dirty.update(self._locations)
        return dropped


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
        return disruption_views(self._engine._disruptions, self.sku_locations())
