"""A KPI child never outlives its worker: SIGKILL or SIGTERM, the child is gone in seconds.

The child is SIGSTOPped first: it then reads none of its input, as a child busy
rebuilding gigabytes of state for minutes does, so the closed pipe of a dead worker
cannot be what ends it; only the parent-death signal (SIGKILL) or the worker's own
bounded stop can.
"""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.integration.monitor import Monitor, wait_for
from tests.integration.processes import gone, kill_quietly, kpi_children

pytestmark = pytest.mark.integration

# The acceptance: no child survives a worker SIGKILL by more than a few seconds.
CHILD_GONE_SECONDS = 5.0
# Graceful stop: the child gets kpi_process.STOP_SECONDS (5) to exit, then is killed.
WORKER_STOP_SECONDS = 30.0


def _child_of(monitor: Monitor) -> int:
    worker = monitor.processes["worker"].pid
    (child,) = wait_for(lambda: kpi_children(worker), timeout=60, what="the KPI child")
    return child


def test_sigkilled_worker_takes_its_busy_kpi_child_with_it(monitor_factory: object) -> None:
    """SIGKILL of the worker: its child, not reading its input, is gone within seconds."""
    monitor: Monitor = monitor_factory({}, exporter=False)  # type: ignore[operator]
    child = _child_of(monitor)
    try:
        os.kill(child, signal.SIGSTOP)
        began = time.monotonic()
        monitor.processes["worker"].kill()
        wait_for(lambda: gone(child), timeout=60, interval=0.02, what=f"child {child} gone")
        seconds = time.monotonic() - began
        monitor.kill("worker", signal.SIGKILL)  # reaped
        print(f"KPI child gone {seconds:.2f}s after the worker's SIGKILL")
        assert seconds < CHILD_GONE_SECONDS
    finally:
        kill_quietly(child)


def test_sigterm_stops_the_worker_and_its_hung_child_within_a_bound(
    monitor_factory: object,
) -> None:
    """SIGTERM with a hung child: the worker exits within its bound and leaves no child."""
    monitor: Monitor = monitor_factory({}, exporter=False)  # type: ignore[operator]
    child = _child_of(monitor)
    worker = monitor.processes.pop("worker")
    try:
        os.kill(child, signal.SIGSTOP)
        began = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=WORKER_STOP_SECONDS + 30)
        stopped = time.monotonic() - began
        print(f"worker stopped {stopped:.2f}s after SIGTERM; exit {worker.returncode}")
        assert stopped < WORKER_STOP_SECONDS
        assert gone(child)
        assert "kpi process did not exit; killing it" in monitor.log_text("worker")
    finally:
        kill_quietly(child)
        if worker.poll() is None:
            worker.kill()
