"""Where the KPI side reports its own metrics, whichever process it runs in.

The runtime observes two things: each fed batch's event lag (event time to
stored) and how long each snapshot took to compute. In the worker process they
go straight to the worker's Prometheus metrics (`PrometheusSink`); in the KPI
process they are held until the next frame carries them to the worker
(`RelaySink`), which serves them — the model of prometheus_client's
multiprocess mode, without its files.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from streams.worker import metrics


class MetricsSink(Protocol):
    def observe_lag(self, stored_at: float, stamps: Iterable[float]) -> None:
        """Each event's lag from its `occurred_at` (epoch s) to `stored_at`."""

    def observe_snapshot(self, seconds: float) -> None:
        """A snapshot took `seconds` to compute."""


class PrometheusSink:
    """Straight into the worker's own metrics (the KPI side in the worker process)."""

    def observe_lag(self, stored_at: float, stamps: Iterable[float]) -> None:
        metrics.EVENT_LAG.observe_elapsed(stored_at, stamps)

    def observe_snapshot(self, seconds: float) -> None:
        metrics.SNAPSHOT_SECONDS.observe(seconds)


class RelaySink:
    """Held for the worker: the lag of the batch being fed, snapshot times until sent."""

    def __init__(self) -> None:
        self.lag = metrics.event_lag_histogram()
        self.snapshot_seconds: list[float] = []

    def observe_lag(self, stored_at: float, stamps: Iterable[float]) -> None:
        self.lag.observe_elapsed(stored_at, stamps)

    def observe_snapshot(self, seconds: float) -> None:
        self.snapshot_seconds.append(seconds)

    def take_lag(self) -> tuple[list[int], float]:
        """The lag observed since the last call (bucket counts, sum), reset."""
        lag, self.lag = self.lag, metrics.event_lag_histogram()
        return list(lag.counts), lag.total

    def take_snapshot_seconds(self) -> list[float]:
        taken, self.snapshot_seconds = self.snapshot_seconds, []
        return taken
