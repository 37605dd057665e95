"""What the worker hands the store for each consumed message (plain data)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """One consumed message and what validation made of it.

    `event_id` is None for a rejected message, whose `label` is then the
    rejection reason; otherwise `label` is the event type. `location` is ''
    for events without one. `occurred_at` is epoch seconds (0 when rejected).
    """

    topic: str
    partition: int
    offset: int
    event_id: str | None
    location: str
    occurred_at: float
    payload: bytes
    label: str
