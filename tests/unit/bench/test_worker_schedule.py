"""The worker's adaptive KPI/alert schedule and heap guard (levers of the benchmark)."""

from __future__ import annotations

import gc

import pytest

from streams.worker.heap import YOUNG_THRESHOLD, HeapGuard
from streams.worker.kpi.schedule import CATCH_UP_MIN_SECONDS, IDLE_SECONDS, Backlog, compute_due


def test_cheap_computations_run_every_tick() -> None:
    """Live, a cheap snapshot pass runs at every tick."""
    assert compute_due(since=1e18, cost=0.0, behind=False)
    assert compute_due(since=1.0, cost=0.01, behind=False)


def test_an_expensive_one_is_followed_by_as_much_ingest_time() -> None:
    """Live, a pass that took 2 s waits 2 s of ingestion before the next."""
    assert not compute_due(since=1.0, cost=2.0, behind=False)
    assert compute_due(since=2.0, cost=2.0, behind=False)


def test_catching_up_spaces_them_out_but_never_skips_for_good() -> None:
    """Behind, passes are ten times their cost and at least 30 s apart, never skipped."""
    assert not compute_due(since=10.0, cost=0.5, behind=True)
    assert compute_due(since=CATCH_UP_MIN_SECONDS, cost=0.5, behind=True)
    assert not compute_due(since=35.0, cost=4.0, behind=True)
    assert compute_due(since=40.0, cost=4.0, behind=True)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("batch", "lag", "fed_backlog_ago", "expected"),
    [
        (None, 0, None, False),  # nothing known: live
        (2000, 0, None, True),  # the last batch was full: more is waiting
        (1999, 0, None, False),
        (None, 2001, None, True),  # more than a batch waiting
        (None, 1500, None, False),  # a small lag is not a backlog
        (None, 0, IDLE_SECONDS / 2, True),  # the KPI side was just fed a backlog batch
        (None, 0, IDLE_SECONDS, False),  # ... and nothing since: the backlog is done
    ],
)
def test_backlog_decides_behind(
    batch: int | None, lag: int, fed_backlog_ago: float | None, expected: bool
) -> None:
    """One object decides catching up: from a full batch, the consumer lag, or a backlog
    batch fed less than a second ago (batch size 2000)."""
    clock = Clock()
    backlog = Backlog(2000, clock)
    if batch is not None:
        backlog.after_batch(batch)
    if fed_backlog_ago is not None:
        backlog.fed(True)
        clock.now += fed_backlog_ago
    backlog.fed(False)  # a live batch changes nothing
    assert backlog.behind(lag) is expected


def test_heap_guard_freezes_and_collects_in_full_now_and_then() -> None:
    threshold = gc.get_threshold()
    try:
        guard = HeapGuard(full_every=0.0)
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
        guard.after_batch()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
