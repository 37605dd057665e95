"""One evaluation pass over the KPI engine: views → observations → evaluator.

Each location is evaluated at its own event time: the latest of its watermark,
its SKU-locations' and dispatches' event times, and the report or resolution
time of a disruption touching it (disruptions change its working capital at
risk). One location's stalled feed neither holds back nor pushes forward
another's alerts. Disruptions themselves are network-wide, evaluated at the
latest of all those times.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from alerts.conditions import NETWORK, observe_location, observe_network
from alerts.evaluator import Evaluation, evaluate
from alerts.links import Links
from alerts.model import AlertState, Transition
from alerts.rules import RuleSet
from alerts.views import DispatchView, DisruptionView, KpiSource, SkuLocationView


class EngineSource(KpiSource, Protocol):
    """`KpiSource` plus the per-location watermark (None before any event)."""

    def watermark(self, location: str) -> float | None: ...


def _location_now(
    watermark: float | None,
    views: Sequence[SkuLocationView],
    dispatches: Sequence[DispatchView],
    disrupted: float | None,
) -> float | None:
    times = [t for t in (watermark,) if t is not None]
    times.extend(view.last_event_at for view in views)
    times.extend(event.occurred_at.timestamp() for event in dispatches)
    if not times:
        return None
    return max(times) if disrupted is None else max(*times, disrupted)


@dataclass(frozen=True, slots=True)
class _DisruptionClock:
    """Latest report or resolution time of the disruptions touching each location."""

    by_location: dict[str, float]
    everywhere: float | None  # of disruptions without a location list (all locations)
    latest: float | None

    @classmethod
    def of(cls, disruptions: Sequence[DisruptionView]) -> _DisruptionClock:
        everywhere: float | None = None
        by_location: dict[str, float] = {}
        for item in disruptions:
            moment = max(item.reported_at, item.resolved_at or item.reported_at)
            if not item.locations:
                everywhere = moment if everywhere is None else max(everywhere, moment)
            for location in {*item.locations, *(loc for loc, _ in item.covered)}:
                by_location[location] = max(by_location.get(location, moment), moment)
        times = [*by_location.values(), *([everywhere] if everywhere is not None else [])]
        return cls(by_location, everywhere, max(times) if times else None)

    def at(self, location: str) -> float | None:
        times = [t for t in (self.by_location.get(location), self.everywhere) if t is not None]
        return max(times) if times else None


def evaluate_engine(
    rules: RuleSet,
    source: EngineSource,
    states: Mapping[str, AlertState],
    locations: Iterable[str],
    links: Links,
    dispatches: Iterable[DispatchView] = (),
    network: bool = True,
) -> Evaluation:
    """Evaluate `locations` (and, with `network`, the disruptions) against `states`.

    `dispatches` are the `shipment.dispatched` events of the batch (for the
    single-expedite rule). Returns the merged evaluation of every partition.
    """
    active = rules.active
    wanted = sorted(set(locations))
    views_by_location: dict[str, list[SkuLocationView]] = defaultdict(list)
    wanted_set = set(wanted)
    for view in source.sku_locations():
        if view.location in wanted_set:
            views_by_location[view.location].append(view)
    dispatches_by_location: dict[str, list[DispatchView]] = defaultdict(list)
    for event in dispatches:
        dispatches_by_location[event.location].append(event)

    disruptions = list(source.disruptions())
    clock = _DisruptionClock.of(disruptions)
    # States grouped by partition, so each location is evaluated against its own
    # states only (a location's evaluation never touches another's: linear, not
    # locations x states). States of rules no longer configured are dropped at the end.
    known = rules.by_id()
    by_partition: dict[str, dict[str, AlertState]] = defaultdict(dict)
    orphans: dict[str, AlertState] = {}
    for key, state in states.items():
        if state.rule_id in known:
            by_partition[state.partition][key] = state
        else:
            orphans[key] = state
    changes: dict[str, AlertState | None] = {}
    transitions: list[Transition] = []
    latest: list[float] = []

    def apply(partition: str, result: Evaluation) -> None:
        by_partition[partition] = dict(result.states)
        changes.update(result.changes)
        transitions.extend(result.transitions)

    for location in wanted:
        views = views_by_location.get(location, [])
        shipped = dispatches_by_location.get(location, [])
        now = _location_now(source.watermark(location), views, shipped, clock.at(location))
        if now is None:
            continue
        latest.append(now)
        observed = observe_location(active, location, views, source.location_kpis, links, shipped)
        previous = by_partition.get(location, {})
        apply(location, evaluate(rules, observed, previous, now, partitions={location}))

    if network:
        if clock.latest is not None:
            latest.append(clock.latest)
        if latest:
            observed = observe_network(active, disruptions, links)
            previous = by_partition.get(NETWORK, {})
            apply(NETWORK, evaluate(rules, observed, previous, max(latest), partitions={NETWORK}))

    current: dict[str, AlertState] = {}
    for partition_states in by_partition.values():
        current.update(partition_states)
    if orphans and latest:
        dropped = evaluate(rules, (), orphans, max(latest), partitions=set())
        changes.update(dropped.changes)
        transitions.extend(dropped.transitions)
        current.update(dropped.states)
    else:
        current.update(orphans)
    return Evaluation(states=current, changes=changes, transitions=transitions)
