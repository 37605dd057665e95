"""A batch is cut, in its order, into event-time steps, never more than the allowed number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.events.models import DisruptionResolved
from streams.worker.kpi.steps import event_time_steps

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def resolved(minutes: float, name: str) -> DisruptionResolved:
    return DisruptionResolved(
        event_id=name,
        event_type="disruption.resolved",
        occurred_at=T0 + timedelta(minutes=minutes),
        disruption_id=name,
    )


@pytest.mark.parametrize(
    ("minutes", "step_minutes", "max_steps", "expected"),
    [
        ([], 15, 8, []),
        ([0, 5, 10], 15, 8, [["e0", "e1", "e2"]]),
        ([0, 15, 16, 40], 15, 8, [["e0"], ["e1", "e2"], ["e3"]]),
        # arrival order kept: events behind the time already reached start no step
        ([40, 0, 16, 15], 15, 8, [["e0", "e1", "e2", "e3"]]),
        ([0, 40, 5, 60], 15, 8, [["e0"], ["e1", "e2"], ["e3"]]),  # a late event cuts nothing
        ([0, 15, 30, 45, 60], 15, 2, [["e0", "e1"], ["e2", "e3", "e4"]]),  # widened step
        ([0, 15, 30], 15, 1, [["e0", "e1", "e2"]]),
    ],
)
def test_event_time_steps(
    minutes: list[float], step_minutes: float, max_steps: int, expected: list[list[str]]
) -> None:
    """Chunks start when the event time reached has moved a step on; the count is capped."""
    events = [resolved(m, f"e{i}") for i, m in enumerate(minutes)]
    chunks = event_time_steps(events, step_minutes * 60, max_steps)
    assert [[event.event_id for event in chunk] for chunk in chunks] == expected
