"""What the worker hands the store for each consumed message (plain data)."""

from __future__ import annotations

from typing import NamedTuple


class MessageRecord(NamedTuple):
    """One consumed message and what validation made of it.

    `event_id` is None for a rejected message, whose `label` is then the
    rejection reason; otherwise `label` is the event type. `payload` is the
    message value as consumed (b'' when rejected).
    A tuple, not a dataclass: one is built per consumed message on the hot path.
    """

    topic: str
    partition: int
    offset: int
    event_id: str | None
    payload: bytes
    label: str
