"""When the worker recomputes the KPI snapshot and evaluates alerts (pure).

Both cost time proportional to the state they cover, and feeding the engine
waits while they run (the KPI process has one event loop; the pass yields between
slices of locations). After one that took `cost` seconds the worker ingests
for at least as long again; while it is catching up on a backlog (consumer lag
over a batch) for ten times as long and at least 30 s, so a backlog is not
slowed down by recomputing figures every second. They are never skipped for
good: alerts come late while catching up, not never.
"""

from __future__ import annotations

SPACING = 1.0
SPACING_BEHIND = 10.0
CATCH_UP_MIN_SECONDS = 30.0
BEHIND_BATCHES = 1  # more than a full batch waiting: the next fetch is full too
IDLE_SECONDS = 1.0  # no backlog batch for this long: the backlog is done


def compute_due(since: float, cost: float, lag: int, batch_size: int) -> bool:
    """`since`: seconds since the last one ended; `cost`: how long it took; `lag`: messages."""
    if lag > BEHIND_BATCHES * batch_size:
        return since >= max(cost * SPACING_BEHIND, CATCH_UP_MIN_SECONDS)
    return since >= cost * SPACING
