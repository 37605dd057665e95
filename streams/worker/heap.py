"""Garbage-collector settings for the worker's long-lived, ever-growing KPI state.

The engine keeps millions of small objects that live for the whole retention
window; CPython's default thresholds rescan them over and over (measured: half
of `KpiEngine.add`'s cost during a backlog). After each batch the surviving heap
is frozen (moved out of the collector's generations; reference counting still
frees it), and the youngest generation is collected less often. A periodic full
collection unfreezes first, so cycles that died after being frozen are still
reclaimed: memory stays bounded.
"""

from __future__ import annotations

import gc
import time

YOUNG_THRESHOLD = 100_000  # allocations between young collections (CPython: 700)
FULL_COLLECTION_SECONDS = 600.0


class HeapGuard:
    def __init__(self, full_every: float = FULL_COLLECTION_SECONDS) -> None:
        self._full_every = full_every
        self._last_full = time.monotonic()
        _, middle, old = gc.get_threshold()
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)

    def after_batch(self) -> None:
        """Freeze what survived the batch; now and then, a full collection of everything."""
        now = time.monotonic()
        if now - self._last_full >= self._full_every:
            self._last_full = now
            gc.unfreeze()
            gc.collect()
        gc.freeze()
