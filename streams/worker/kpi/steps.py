"""Event-time steps of a batch, so alert rules see a backlog unfold as it happened (pure).

A batch can span days of event time (a backfill, a file published at once, a
worker catching up). Evaluating the rules only on the final state would miss
what happened in between: the projected stockout that preceded the stockout, a
disruption reported and resolved inside the batch. The worker therefore feeds
the engine in steps and evaluates the rules after each.

The events keep their order (the order the store applied them, which a rebuild
from the store replays): a step ends where the event time reached so far has
moved a step on. Sorting them by event time instead would feed the engine in an
order a restart cannot reproduce, and the counters, which count facts as they
are processed (SPEC §4), would then differ after a restart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from streams.events.wire import Event

E = TypeVar("E", bound=Event)


def event_time_steps(events: Sequence[E], step_seconds: float, max_steps: int) -> list[list[E]]:
    """Cut `events`, in their order, into consecutive chunks.

    A new chunk starts at the event that takes the latest event time seen so far
    at least `step_seconds` beyond where the current chunk started (a late event
    never starts one); when that would make more than `max_steps` chunks, the step
    is widened to the batch's event-time span divided by `max_steps`, and the
    last chunk takes whatever remains. Returns [] for no events and one chunk
    when `max_steps` is 1.
    """
    if not events:
        return []
    if max_steps <= 1:
        return [list(events)]
    stamps = [event.occurred_at.timestamp() for event in events]
    step = max(step_seconds, (max(stamps) - min(stamps)) / max_steps)
    chunks: list[list[E]] = [[]]
    base = reached = stamps[0]
    for event, t in zip(events, stamps, strict=True):
        if t > reached:
            reached = t
        if chunks[-1] and reached - base >= step and len(chunks) < max_steps:
            chunks.append([])
            base = reached
        chunks[-1].append(event)
    return chunks
