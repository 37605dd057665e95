"""Event-time steps of a batch, so alert rules see a backlog unfold as it happened (pure).

A batch can span days of event time (a backfill, a file published in one go,
a worker catching up). Evaluating the rules only on the final state would miss
what happened in between: the projected stockout that preceded the stockout,
a disruption reported and resolved inside the batch. The worker therefore feeds
the engine step by step in event-time order and evaluates after each step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from streams.events.wire import Event

E = TypeVar("E", bound=Event)


def event_time_steps(events: Sequence[E], step_seconds: float, max_steps: int) -> list[list[E]]:
    """Split `events` into chunks in `occurred_at` order.

    A new chunk starts once the event time has advanced at least `step_seconds`
    beyond the first event of the current chunk; when that makes more than
    `max_steps` chunks, the step is widened so there are at most `max_steps`.
    Returns [] for no events and a single chunk when `max_steps` is 1.
    """
    if not events:
        return []
    ordered = sorted(events, key=lambda event: (event.occurred_at.timestamp(), event.event_id))
    first = ordered[0].occurred_at.timestamp()
    span = ordered[-1].occurred_at.timestamp() - first
    step = max(step_seconds, span / max(1, max_steps) if max_steps > 1 else float("inf"))
    chunks: list[list[E]] = [[]]
    chunk_start = first
    for event in ordered:
        t = event.occurred_at.timestamp()
        if chunks[-1] and t - chunk_start >= step and len(chunks) < max_steps:
            chunks.append([])
            chunk_start = t
        chunks[-1].append(event)
    return chunks
