"""Shared simulated logs: generated once per session, read by many tests."""

from __future__ import annotations

from typing import Any

import pytest

from streams.simulate import SimulationConfig, generate
from tests.unit.simulate.replay import START


@pytest.fixture(scope="session")
def log() -> list[dict[str, Any]]:
    """About two simulated days of the default world (seed 7)."""
    return list(generate(SimulationConfig(seed=7, start=START, events=20_000)))


@pytest.fixture(scope="session")
def long_log() -> list[dict[str, Any]]:
    """Eight simulated days of a small, quiet, disruption-heavy world (seed 11)."""
    config = SimulationConfig(
        seed=11,
        locations=2,
        skus=12,
        start=START,
        duration_seconds=8 * 86400.0,
        orders_per_hour=6.0,
        disruptions_per_week=20.0,
    )
    return list(generate(config))
