"""Lifetime counters only go up, whatever order events are processed in (SPEC §4)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import timedelta
from functools import cache

import pytest

from streams.core.engine import KpiEngine
from streams.events import models as m
from tests.unit.core.factories import settings, snapshot
from tests.unit.core.helpers import run
from tests.unit.core.simlog import simulated_events

KIND_RANK = {"inventory.snapshot": 0, "inventory.adjusted": 1}

# Each counter and its windowed twin: equal when the log is processed in event-time order
# and the window covers all of it.
TWINS = (
    ("inventory_cogs_dollars_total", "inventory_window_cogs_dollars"),
    ("inventory_sales_dollars_total", "inventory_window_sales_dollars"),
    ("inventory_expedite_cost_dollars_total", "inventory_window_expedite_cost_dollars"),
    ("inventory_stockouts_total", "inventory_stockout_events"),
)


def locations_of(events: Iterable[m.Event]) -> set[str]:
    return {code for e in events if (code := getattr(e, "location", None)) is not None}


@cache
def simulated() -> tuple[m.Event, ...]:
    return tuple(simulated_events(2000, seed=21, locations=3, skus=10, days=20.0))


def counters(engine: KpiEngine) -> dict[tuple[str, str], float]:
    """`(metric, location)` -> value of every `_total` sample."""
    return {
        (s.name, dict(s.labels)["location"]): s.value
        for s in engine.samples()
        if s.name.endswith("_total")
    }


@pytest.mark.parametrize("seed", range(4))
def test_counters_never_decrease_in_any_processing_order(seed: int) -> None:
    """Fed a shuffled log (late and out-of-order events everywhere) and read often, no counter
    of any location ever reads lower than it did before."""
    events = list(simulated())
    rng = random.Random(seed)
    rng.shuffle(events)
    engine = KpiEngine(settings())
    seen: dict[tuple[str, str], float] = {}
    for index, event in enumerate(events):
        engine.add(event)
        if index % 97 == 0 or index == len(events) - 1:
            now = counters(engine)
            for key, before in seen.items():
                assert now[key] >= before, (key, before, now[key], index)
            seen = now


def test_a_rebuild_replaying_the_processing_order_gives_the_same_counters() -> None:
    """A worker restart replays the stored events in the order they were first processed: the
    counters come back exactly, late events included."""
    events = list(simulated())
    random.Random(5).shuffle(events)
    live = KpiEngine(settings())
    for index, event in enumerate(events):
        live.add(event)
        if index % 50 == 0:
            live.samples()  # the live worker reads as it goes; the rebuild reads once
    assert counters(run(events)) == counters(live)


@pytest.mark.parametrize(("total", "windowed"), TWINS)
def test_in_event_time_order_each_counter_equals_its_windowed_twin(
    total: str, windowed: str
) -> None:
    """Processed in event-time order with nothing late, a counter counts exactly what its
    windowed gauge counts over a window that covers the whole log (which ends with an
    inventory event at every location, so every stockout episode is settled)."""
    ordered = sorted(
        simulated(),
        key=lambda e: (e.occurred_at, KIND_RANK.get(e.event_type, 2), e.event_id),
    )
    end = ordered[-1].occurred_at + timedelta(seconds=1)
    ordered += [snapshot("CLOSE", 1, t=end, loc=code) for code in sorted(locations_of(ordered))]
    samples = run(ordered, windows=["30d"]).samples()
    by_key = {(s.name, dict(s.labels)["location"]): s.value for s in samples}
    locations = {location for _name, location in by_key}
    for location in locations:
        assert by_key[(total, location)] == pytest.approx(
            by_key[(windowed, location)], rel=1e-12, abs=1e-9
        ), location
