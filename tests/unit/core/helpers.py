"""Reading engine output in tests: run a log, look up one series, compare whole outputs."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

from streams.core.engine import KpiEngine
from streams.core.samples import Sample
from streams.core.windows import DAY, bucket_index
from streams.events import models as m
from tests.unit.core.factories import settings

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def run(events: Iterable[m.Event], **overrides: object) -> KpiEngine:
    """An engine (test settings plus `overrides`) fed every event."""
    engine = KpiEngine(settings(**overrides))
    for event in events:
        engine.add(event)
    return engine


def series(samples: Iterable[Sample]) -> Series:
    """Samples keyed by (name, labels)."""
    return {(s.name, s.labels): s.value for s in samples}


def value(engine: KpiEngine, name: str, **labels: str) -> float | None:
    """The value of one series, None when it is absent."""
    return series(engine.samples()).get((name, tuple(sorted(labels.items()))))


KIND_RANK = {"inventory.snapshot": 0, "inventory.adjusted": 1}


def in_time_order(events: Iterable[m.Event]) -> list[m.Event]:
    """The events in event-time order (ties: snapshot, adjustment, the rest; then event id)."""
    return sorted(events, key=lambda e: (e.occurred_at, KIND_RANK.get(e.event_type, 2), e.event_id))


def within_buckets(
    events: Iterable[m.Event],
    order: Callable[[m.Event], object] | random.Random,
    size: float = DAY,
) -> list[m.Event]:
    """The events bucket after bucket (UTC buckets of `size`), reordered inside each bucket.

    `order` is a sort key, or a random generator to shuffle with. Nothing is late: no
    event is processed after one of a later bucket, so only the order *within open
    buckets* changes (SPEC §4.1: the figures must not depend on it).
    """
    listed = list(events)
    if isinstance(order, random.Random):
        ranks = list(range(len(listed)))
        order.shuffle(ranks)
        rank = dict(zip((id(e) for e in listed), ranks, strict=True))

        def key(e: m.Event) -> object:
            return rank[id(e)]

    else:
        key = order
    return sorted(listed, key=lambda e: (bucket_index(e.occurred_at.timestamp(), size), key(e)))
