"""When the worker recomputes the KPI snapshot and evaluates alerts (pure).

Both cost time proportional to the state they cover, and feeding the engine
waits while they run (the KPI process has one event loop; the pass yields between
slices of locations). After one that took `cost` seconds the worker ingests
for at least as long again; while it is catching up on a backlog (consumer lag
over a batch) for ten times as long and at least 30 s, so a backlog is not
slowed down by recomputing figures every second. They are never skipped for
good: alerts come late while catching up, not never.

Whether the worker is catching up is decided in one place, `Backlog`: the worker
process feeds it the size of each batch and the consumer lag, the KPI side (which
may run in another process) the flag the worker sends with each batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

SPACING = 1.0
SPACING_BEHIND = 10.0
CATCH_UP_MIN_SECONDS = 30.0
BEHIND_BATCHES = 1  # more than a full batch waiting: the next fetch is full too
IDLE_SECONDS = 1.0  # no backlog batch for this long: the backlog is done


class Backlog:
    """Whether the worker is catching up on a backlog (the one owner of that decision).

    Behind when the last batch was full (more is waiting: the next fetch is full too),
    when more than `BEHIND_BATCHES` batches are waiting (consumer lag, in messages), or
    when a batch the worker marked as backlog was fed less than `IDLE_SECONDS` ago (the
    KPI side cannot see the consumer, and the high watermarks are unknown for a moment
    after a start or a rebalance).
    """

    def __init__(self, batch_size: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._batch_size = batch_size
        self._clock = clock
        self._full = False
        self._fed_at = -math.inf  # clock time of the last backlog batch fed

    def after_batch(self, size: int) -> None:
        """The worker took a batch of `size` messages."""
        self._full = size >= self._batch_size

    def fed(self, catching_up: bool) -> None:
        """The KPI side was fed a batch the worker marked as backlog (or not)."""
        if catching_up:
            self._fed_at = self._clock()

    def behind(self, lag: int) -> bool:
        """Catching up, with `lag` messages waiting (0 when unknown)."""
        return (
            self._full
            or lag > BEHIND_BATCHES * self._batch_size
            or self._clock() - self._fed_at < IDLE_SECONDS
        )


def compute_due(since: float, cost: float, behind: bool) -> bool:
    """`since`: seconds since the last one ended; `cost`: how long it took; `behind`:
    catching up on a backlog (`Backlog.behind`)."""
    if behind:
        return since >= max(cost * SPACING_BEHIND, CATCH_UP_MIN_SECONDS)
    return since >= cost * SPACING
