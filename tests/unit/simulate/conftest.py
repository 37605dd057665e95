"""Shared simulated logs: generated once per session, read by many tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from streams.simulate import SimulationConfig, generate

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def log() -> list[dict[str, Any]]:
    """About two simulated days of the default world (seed 7)."""
    return list(generate(SimulationConfig(seed=7, start=START, events=20_000)))


@pytest.fixture(scope="session")
def long_log() -> list[dict[str, Any]]:
    """Over a simulated week of a small, disruption-heavy world (seed 11)."""
    config = SimulationConfig(
        seed=11, locations=3, skus=10, start=START, events=25_000, disruptions_per_week=20.0
    )
    return list(generate(config))
