"""Reading engine output in tests: run a log, look up one series, compare whole outputs."""

from __future__ import annotations

from collections.abc import Iterable

from streams.core.engine import KpiEngine
from streams.core.samples import Sample
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
