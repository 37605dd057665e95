"""The location-keyed input topics must exist with one partition count (SPEC §4.2)."""

from __future__ import annotations

import pytest

from streams.kafka.topics import LOCATION_KEYED_TOPICS, co_partitioning_problem


def counts(**overrides: int | None) -> dict[str, int | None]:
    values: dict[str, int | None] = {name: 4 for name in LOCATION_KEYED_TOPICS}
    values.update(overrides)
    return values


def test_disruptions_are_read_whole_and_not_required_to_match() -> None:
    """Disruptions span locations (a global table): they are not location-keyed."""
    assert "disruptions" not in LOCATION_KEYED_TOPICS
    assert set(LOCATION_KEYED_TOPICS) == {"orders", "shipments", "inventory", "forecasts", "plans"}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (counts(), None),
        (counts(orders=1, shipments=1, inventory=1, forecasts=1, plans=1), None),
        (counts(plans=3), "not co-partitioned"),
        (counts(orders=8), "orders=8"),
        (counts(inventory=None), "missing input topic(s) inventory"),
        (counts(inventory=None, plans=2), "missing input topic(s) inventory"),
    ],
)
def test_problem_names_what_is_wrong(given: dict[str, int | None], expected: str | None) -> None:
    """One count for all is fine; a differing or missing topic is named in the message."""
    problem = co_partitioning_problem(given)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and expected in problem
