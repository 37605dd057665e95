"""Outputs depend on the set of events only: not on the arrival order within open buckets,
refreshes or pruning.

SPEC §4.1: an event whose bucket has closed is late and applied by the late rules (the
`late/` scenarios of `test_spec_scenarios.py`), so the order is free only *within* open
buckets: these tests reorder events inside each bucket, never across buckets, and compare
with the log in event-time order. The lifetime counters (`*_total`) are the exception by
design: they count facts as they are processed (SPEC §4, "counters only go up"), so they
are compared here only where the processing order is the same; what they guarantee under
any order is in `test_counters.py`.
"""

from __future__ import annotations

import random
from functools import cache

import pytest

from streams.core.engine import KpiEngine
from streams.events import models as m
from tests.unit.core.factories import settings
from tests.unit.core.helpers import in_time_order, run, within_buckets
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
def test_hand_logs_shuffled_within_buckets_give_identical_outputs(seed: int) -> None:
    """Each hand-computed log, shuffled inside each day, gives exactly the same samples and
    views as in event-time order."""
    rng = random.Random(seed)
    for log in hand_logs():
        assert outputs(run(within_buckets(log, rng))) == outputs(run(in_time_order(log)))


@pytest.mark.parametrize("seed", range(3))
def test_simulated_log_shuffled_within_buckets_gives_identical_outputs(seed: int) -> None:
    """A simulated log shuffled inside each day, read at random points, ends with identical
    outputs."""
    expected = outputs(run(in_time_order(simulated())))
    rng = random.Random(seed)
    engine = KpiEngine(settings())
    for event in within_buckets(simulated(), rng):
        engine.add(event)
        if rng.random() < 0.01:  # refreshes in between exercise the incremental paths
            engine.samples()
    assert outputs(engine) == expected


@pytest.mark.parametrize("size", [86400.0, 3600.0])
def test_topics_consumed_in_the_worst_order_within_each_bucket(size: float) -> None:
    """Within each bucket: shipments before orders, deliveries before dispatches, adjustments
    before snapshots (daily and hourly buckets)."""
    rank = {kind: i for i, kind in enumerate(TOPIC_ORDER)}
    by_topic = within_buckets(simulated(), lambda e: rank[e.event_type], size)
    overrides = {"bucket_seconds": int(size)}
    assert outputs(run(by_topic, **overrides)) == outputs(
        run(in_time_order(simulated()), **overrides)
    )


def test_events_behind_the_watermark_within_their_bucket() -> None:
    """Events read after later ones of their own bucket (behind the watermark, then
    refreshed) change nothing."""
    events = in_time_order(simulated())
    held = set(range(0, len(events), 7))
    engine = KpiEngine(settings())
    day = None
    waiting: list[m.Event] = []
    for i, event in enumerate(events):
        today = event.occurred_at.date()
        if today != day:  # the day is about to close: what was held back arrives now
            for late in waiting:
                engine.add(late)
            waiting, day = [], today
            engine.samples()
        if i in held:
            waiting.append(event)
        else:
            engine.add(event)
    for late in waiting:
        engine.add(late)
    assert engine.late_totals() == {}
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
