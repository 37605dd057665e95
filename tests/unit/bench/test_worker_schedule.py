"""The worker's adaptive KPI/alert schedule and heap guard (levers of the benchmark)."""

from __future__ import annotations

import gc

from streams.worker.heap import YOUNG_THRESHOLD, HeapGuard
from streams.worker.kpi.schedule import CATCH_UP_MIN_SECONDS, compute_due


def test_cheap_computations_run_every_tick() -> None:
    assert compute_due(since=1e18, cost=0.0, lag=0, batch_size=2000)
    assert compute_due(since=1.0, cost=0.01, lag=0, batch_size=2000)


def test_an_expensive_one_is_followed_by_as_much_ingest_time() -> None:
    assert not compute_due(since=1.0, cost=2.0, lag=0, batch_size=2000)
    assert compute_due(since=2.0, cost=2.0, lag=0, batch_size=2000)


def test_catching_up_spaces_them_out_but_never_skips_for_good() -> None:
    behind = 100_000
    assert not compute_due(since=10.0, cost=0.5, lag=behind, batch_size=2000)
    assert compute_due(since=CATCH_UP_MIN_SECONDS, cost=0.5, lag=behind, batch_size=2000)
    assert not compute_due(since=35.0, cost=4.0, lag=behind, batch_size=2000)
    assert compute_due(since=40.0, cost=4.0, lag=behind, batch_size=2000)
    # A small lag is not a backlog.
    assert compute_due(since=1.0, cost=0.5, lag=1500, batch_size=2000)


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
