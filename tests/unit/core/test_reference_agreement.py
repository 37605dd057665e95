"""The engine agrees with the independent batch reference (tests/reference/batch_kpis.py)."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from streams.core.samples import Sample
from streams.events import models as m
from tests.reference import batch_kpis
from tests.unit.core.factories import settings
from tests.unit.core.helpers import run
from tests.unit.core.simlog import simulated_events


def served(samples: list[Sample]) -> batch_kpis.Series:
    """Samples in the reference's key shape, labels sanitised as the exporter does."""
    return {
        (
            s.name,
            frozenset((k, v if k == "le" else batch_kpis.sanitise(v)) for k, v in s.labels),
        ): s.value
        for s in samples
    }


@pytest.mark.parametrize(
    ("seed", "overrides"),
    [
        (1, {}),
        (2, {"allowed_lateness_seconds": 120.0}),
        (3, {"windows": ["12h", "7d"], "obsolete_after_days": 5.0, "excess_cover_days": 3.0}),
    ],
)
def test_simulated_log_matches_the_batch_reference(seed: int, overrides: dict[str, object]) -> None:
    """Every series the reference computes is served with the same value, and nothing else."""
    events = simulated_events(1500, seed=seed, locations=3, skus=10, days=12.0)
    engine = run(events, **overrides)
    expected = batch_kpis.compute(
        [e.model_dump(mode="json") for e in events], settings(**overrides)
    )
    assert batch_kpis.compare(expected, served(engine.samples())) == []


@pytest.mark.parametrize("seed", [4, 5])
def test_shuffled_log_matches_the_batch_reference_in_the_same_processing_order(seed: int) -> None:
    """With late and out-of-order events everywhere, the engine and the reference still agree
    on every series, the counters included (both count in the order the log is given)."""
    events = simulated_events(1200, seed=seed, locations=3, skus=8, days=12.0)
    random.Random(seed).shuffle(events)
    engine = run(events)
    expected = batch_kpis.compute([e.model_dump(mode="json") for e in events], settings())
    names = {name for name, _labels in expected}
    assert {
        "inventory_overrides_unmatched_total",
        "inventory_disruptions_awaiting_replan",
        "inventory_excess_obsolete_ratio",
        "inventory_forecast_absolute_percentage_errors",
    } <= names
    assert batch_kpis.compare(expected, served(engine.samples())) == []


def test_republished_orders_and_late_events_match_the_batch_reference() -> None:
    """Orders re-published with another time and quantity (displacing the kept placement or
    not), processed in a shuffled order, read the same in the engine and the reference."""
    events = simulated_events(1200, seed=9, locations=2, skus=6, days=10.0)
    rng = random.Random(9)
    placed = [e for e in events if isinstance(e, m.OrderPlaced)]
    for number, original in enumerate(rng.sample(placed, 40)):
        shift = timedelta(hours=rng.choice([-30, -2, 3, 40]))
        lines = [line.model_copy(update={"quantity": line.quantity + 1}) for line in original.lines]
        events.append(
            original.model_copy(
                update={
                    "event_id": f"again-{number}",
                    "occurred_at": original.occurred_at + shift,
                    "lines": lines,
                }
            )
        )
    rng.shuffle(events)
    engine = run(events)
    expected = batch_kpis.compute([e.model_dump(mode="json") for e in events], settings())
    assert batch_kpis.compare(expected, served(engine.samples())) == []
