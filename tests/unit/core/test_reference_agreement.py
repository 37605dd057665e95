"""The engine agrees with the independent batch reference (tests/reference/batch_kpis.py)."""

from __future__ import annotations

import pytest

from streams.core.samples import Sample
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
