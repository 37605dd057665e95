"""Checkpoints: dump, restore and feed the rest gives exactly what feeding everything gives.

The KPI process loads the last checkpoint of each location and of the global part,
then replays the short event log written since (issue 14). These tests feed a log,
take checkpoints along the way as that process does (only what changed since the last
one), restore from the latest blobs at a cut and feed the rest.
"""

from __future__ import annotations

import random
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from streams.core.checkpoint import CheckpointError
from streams.core.engine import KpiEngine
from streams.events import models as m
from tests.unit.core.factories import adjusted, at, settings, snapshot, tick
from tests.unit.core.helpers import in_time_order
from tests.unit.core.simlog import simulated_events


def everything(engine: KpiEngine) -> tuple[Any, ...]:
    """Every output, counters and late counts included."""
    windows = engine.settings.windows
    return (
        engine.samples(),
        engine.sku_locations(),
        engine.disruptions(),
        engine.late_totals(),
        {(code, w): engine.location_kpis(code, w) for code in engine.locations() for w in windows},
        {code: engine.watermark(code) for code in engine.locations()},
    )


@cache
def log(seed: int) -> tuple[m.Event, ...]:
    """A simulated log with late events: a fifth of it delayed by up to two days."""
    rng = random.Random(seed)
    keyed = []
    for i, event in enumerate(
        in_time_order(simulated_events(700, seed=seed, locations=3, skus=6, days=9.0))
    ):
        t = event.occurred_at.timestamp()
        if rng.random() < 0.2:
            t += rng.uniform(0.5, 48.0) * 3600.0
        keyed.append((t, i, event))
    return tuple(event for _t, _i, event in sorted(keyed, key=lambda x: (x[0], x[1])))


class Store:
    """The latest blob of each location and of the global part, as the KPI process keeps them."""

    def __init__(self) -> None:
        self.locations: dict[str, bytes] = {}
        self.global_blob: bytes | None = None

    def checkpoint(self, engine: KpiEngine) -> None:
        changed, changed_global = engine.take_checkpoint_set()
        for code in changed:
            self.locations[code] = engine.dump_location(code)
        if changed_global:
            self.global_blob = engine.dump_global()

    def restore(self, engine: KpiEngine) -> KpiEngine:
        return KpiEngine.restore(engine.settings, self.global_blob, self.locations.values())


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 5),
    cut=st.floats(0.0, 1.0),
    marks=st.lists(st.floats(0.0, 1.0), max_size=4),
    hourly=st.booleans(),
    noise=st.integers(0, 2**31),
)
def test_restored_engine_continues_exactly(
    seed: int, cut: float, marks: list[float], hourly: bool, noise: int
) -> None:
    """Feeding e1..en equals feeding e1..ek with checkpoints taken along the way (only what
    changed since the last one), restoring from the latest blobs and feeding ek+1..en: the
    same samples (counters included), views, KPIs, watermarks and late counts, for any k;
    reads and prunes at random points on either side change nothing."""
    overrides = {"bucket_seconds": 3600} if hourly else {}
    events = log(seed)
    k = int(cut * len(events))
    at_marks = {int(mark * k) for mark in marks}
    rng = random.Random(noise)
    whole = KpiEngine(settings(**overrides))
    for event in events:
        whole.add(event)
    live, store = KpiEngine(settings(**overrides)), Store()
    for i, event in enumerate(events[:k]):
        if i in at_marks:
            store.checkpoint(live)
        if rng.random() < 0.01:
            live.samples()
        if rng.random() < 0.005:
            live.prune()
        live.add(event)
    store.checkpoint(live)
    restored = store.restore(live)
    for event in events[k:]:
        if rng.random() < 0.005:
            restored.prune()
        restored.add(event)
    assert everything(restored) == everything(whole)


def test_take_checkpoint_set_reports_what_changed_since_the_last_call() -> None:
    """Locations with events since the last call, and whether the global part changed; the
    call resets both."""
    engine = KpiEngine(settings())
    engine.add(snapshot("A", 1, t=at(0), loc="L1", supplier_id="S1"))
    engine.add(snapshot("A", 1, t=at(0), loc="L2"))
    assert engine.take_checkpoint_set() == ({"L1", "L2"}, True)  # a new supplier -> location
    assert engine.take_checkpoint_set() == (set(), False)
    engine.add(tick(t=at(1), loc="L2"))
    engine.samples()  # reading changes no checkpointed state
    assert engine.take_checkpoint_set() == ({"L2"}, False)


def test_late_totals_are_cumulative_and_checkpointed() -> None:
    """Late events count per input topic, dropped ones included, and survive a restore."""
    engine = KpiEngine(settings())
    for event in [
        snapshot("A", 10, t=at(0)),
        tick(t=at(40)),
        adjusted("A", 1, t=at(39.5)),  # late (the day-40 tick closed day 39), applied
        adjusted("A", 1, t=at(20)),  # late, applied
        adjusted("A", 1, t=at(1)),  # late and dropped (before day 40 - 29)
    ]:
        engine.add(event)
    assert engine.late_totals() == {"inventory": 3}
    store = Store()
    store.checkpoint(engine)
    assert store.restore(engine).late_totals() == {"inventory": 3}


def test_a_blob_of_another_bucket_shape_is_refused() -> None:
    """A checkpoint taken with other buckets (or another span) cannot be read into an engine:
    the KPI process rebuilds from its event log instead."""
    engine = KpiEngine(settings())
    engine.add(snapshot("A", 1, t=at(0)))
    blob = engine.dump_location("L1")
    with pytest.raises(CheckpointError, match="bucket_seconds"):
        KpiEngine.restore(settings(bucket_seconds=3600), None, [blob])
    with pytest.raises(CheckpointError, match="unreadable"):
        KpiEngine.restore(settings(), None, [blob[:20]])


def test_a_location_blob_grows_with_buckets_not_with_inventory_events() -> None:
    """Ten times more adjustments over the same closed days leave the blob the same size to
    within a few bytes per SKU-location (nothing is kept per event once its day closed)."""

    def blob(per_day: int) -> bytes:
        engine = KpiEngine(settings())
        rng = random.Random(1)
        events = [snapshot(f"S{i}", 1000, t=at(0), loc="L1") for i in range(20)]
        for day in range(10):
            for n in range(per_day):
                sku = f"S{rng.randrange(20)}"
                events.append(adjusted(sku, rng.choice([-1.0, 1.0]), t=at(day + n / per_day)))
        events.append(tick(t=at(10.5)))
        for event in events:
            engine.add(event)
        return engine.dump_location("L1")

    small, large = blob(50), blob(500)
    assert len(large) - len(small) < 20 * 16, (len(small), len(large))


def test_a_watermark_jump_folds_no_more_than_the_horizon() -> None:
    """A location silent for 400 days (hourly buckets) resumes: the buckets of the gap are
    walked into the position without totals, so the work and the state stay bounded by the
    60 days kept (the 30d window and its prior: 1440 hourly buckets) while the position and
    the counters carry over."""
    engine = KpiEngine(settings(bucket_seconds=3600))
    for event in [
        snapshot("A", 100, unit_cost=2.0, t=at(0)),
        adjusted("A", -100, t=at(0.5)),  # a stockout
        adjusted("A", 50, t=at(1)),
        tick(t=at(400)),
    ]:
        engine.add(event)
    state = engine._locations["L1"]
    assert len(state.columns.money["integral"]) <= 1440 + 48  # the gap: none; day 0-1 hours
    engine.prune()
    assert len(state.columns.money["integral"]) <= 1440
    kpis = engine.location_kpis("L1", "30d")
    assert kpis["inventory_value"] == 100.0 and kpis["average_inventory_value"] == 100.0
    totals = {s.name: s.value for s in engine.samples() if s.name == "inventory_stockouts_total"}
    assert totals == {"inventory_stockouts_total": 1.0}


def test_a_failing_close_stays_with_its_location(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unexpected error while closing a location's bucket is recorded for the adapter and
    contained: add() goes on, and other locations are unaffected."""
    from streams.core import engine as engine_module

    def broken(state: Any, ctx: Any, wm: float) -> None:
        if state.code == "BAD":
            raise ArithmeticError("boom")
        real(state, ctx, wm)

    real = engine_module.close_buckets
    monkeypatch.setattr(engine_module, "close_buckets", broken)
    engine = KpiEngine(settings())
    for loc in ("BAD", "OK"):
        engine.add(snapshot("A", 1, t=at(0), loc=loc))
        engine.add(tick(t=at(2), loc=loc))
    assert [(f.location, f.reason) for f in engine.take_failures()] == [("BAD", "exception")]
    assert engine.location_kpis("OK", "7d")["inventory_value"] == 1.0
