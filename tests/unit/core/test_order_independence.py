"""Outputs depend on the set of events only: not on arrival order, refreshes or pruning.

The lifetime counters (`*_total`) are the exception by design: they count facts as
they are processed (SPEC §4, "counters only go up"), so they are compared here only
where the processing order is the same; what they guarantee under any order is in
`test_counters.py`.
"""

from __future__ import annotations

import random
from functools import cache

import pytest

from streams.core.engine import KpiEngine
from streams.events import models as m
from tests.unit.core.factories import settings
from tests.unit.core.helpers import run
from tests.unit.core.simlog import simulated_events
from tests.unit.core.test_planning import policy_log, replan_log
from tests.unit.core.test_risk import expedite_log, forecast_log, stockout_log
from tests.unit.core.test_service import service_log
from tests.unit.core.test_tradeoffs import curve_log, wcar_log
from tests.unit.core.test_working_capital import eo_log, step_log

TOPIC_ORDER = (  # consumers of independent topics: the "wrong" way round
    "inventory.adjusted", "shipment.delivered", "shipment.dispatched", "order.cancelled",
    "inbound.received", "policy.applied", "disruption.resolved", "forecast.published",
    "order.placed", "inventory.snapshot", "policy.recommended", "policy.overridden",
    "disruption.reported",
)  # fmt: skip


@cache
def simulated() -> tuple[m.Event, ...]:
    return tuple(simulated_events(2500, seed=11, locations=3, skus=12, days=20.0))


def outputs(engine: KpiEngine) -> tuple[object, ...]:
    """Every output but the lifetime counters (which follow the processing order)."""
    samples = [s for s in engine.samples() if not s.name.endswith("_total")]
    return (samples, engine.sku_locations(), engine.disruptions())


def counters(engine: KpiEngine) -> list[object]:
    return [s for s in engine.samples() if s.name.endswith("_total")]


def hand_logs() -> list[list[m.Event]]:
    return [
        step_log(), eo_log(), service_log(), stockout_log(), forecast_log(), expedite_log(),
        curve_log(), wcar_log("sku disruption"), policy_log(), replan_log(),
    ]  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_shuffled_hand_logs_give_identical_outputs(seed: int) -> None:
    """Each hand-computed log in a random order gives exactly the same samples and views."""
    rng = random.Random(seed)
    for log in hand_logs():
        shuffled = list(log)
        rng.shuffle(shuffled)
        assert outputs(run(shuffled)) == outputs(run(log))


@pytest.mark.parametrize("seed", range(3))
def test_shuffled_simulated_log_gives_identical_outputs(seed: int) -> None:
    """A shuffled simulated log, read at random points, ends with identical outputs."""
    events = list(simulated())
    expected = outputs(run(events))
    rng = random.Random(seed)
    rng.shuffle(events)
    engine = KpiEngine(settings())
    for event in events:
        engine.add(event)
        if rng.random() < 0.01:  # refreshes in between exercise the incremental paths
            engine.samples()
    assert outputs(engine) == expected


def test_topics_consumed_in_the_worst_order() -> None:
    """Shipments before orders, deliveries before dispatches, adjustments before snapshots."""
    events = list(simulated())
    rank = {kind: i for i, kind in enumerate(TOPIC_ORDER)}
    by_topic = sorted(events, key=lambda e: rank[e.event_type])
    assert outputs(run(by_topic)) == outputs(run(events))


def test_late_events_behind_the_watermark() -> None:
    """Events read after later ones (behind the watermark, then refreshed) change nothing."""
    events = list(simulated())
    engine = KpiEngine(settings())
    for i, event in enumerate(events):
        if i % 7:
            engine.add(event)
    engine.samples()
    for event in events[::7]:
        engine.add(event)
    assert outputs(engine) == outputs(run(events))


@pytest.mark.parametrize("seed", range(3))
def test_refreshes_do_not_change_the_counters(seed: int) -> None:
    """Counters depend on the processing order only, never on when figures are read."""
    events = list(simulated())
    rng = random.Random(seed)
    engine = KpiEngine(settings())
    for event in events:
        engine.add(event)
        if rng.random() < 0.01:
            engine.samples()
    assert counters(engine) == counters(run(events))


def pruning_settings() -> dict[str, object]:
    return {"obsolete_after_days": 10.0, "windows": ["7d", "30d"]}


@cache
def long_log() -> tuple[m.Event, ...]:
    return tuple(simulated_events(4000, seed=5, locations=2, skus=10, days=75.0))


def test_pruning_changes_no_output() -> None:
    """Samples (counters included) and views are the same just before and after pruning,
    which dropped something."""
    engine = run(long_log(), **pruning_settings())
    before = (outputs(engine), counters(engine))
    assert engine.prune() > 0
    assert (outputs(engine), counters(engine)) == before


def test_pruned_engine_keeps_agreeing_as_events_continue() -> None:
    """An engine pruned mid-stream and fed the rest agrees with one that never pruned."""
    events = list(long_log())
    middle = len(events) * 2 // 3
    pruned = run(events[:middle], **pruning_settings())
    pruned.samples()
    assert pruned.prune() > 0
    for event in events[middle:]:
        pruned.add(event)
    expected = run(events, **pruning_settings())
    assert (outputs(pruned), counters(pruned)) == (outputs(expected), counters(expected))
