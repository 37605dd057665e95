"""Process-local metrics of the worker, served on its own port (default 9465).

Counters that must survive restarts (events, dead letters, duplicates) live in
Redis and are served by the exporter; these are the worker's live figures.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import REGISTRY, Gauge, Histogram
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector


class BatchHistogram(Collector):
    """A histogram observed a batch at a time (prometheus_client's takes a lock per value).

    Event lag is observed for every event, on the hot path: `observe_many` sorts a
    batch's values once. Read at scrape time like any custom collector.
    """

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = [float(b) for b in buckets if b != float("inf")]
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf only
        self.total = 0.0

    def observe_many(self, values: Iterable[float]) -> None:
        # Sorted once (C speed), then one bisect per bucket bound, not one per value.
        ordered = sorted(values)
        counts = self.counts
        below = 0
        for k, bound in enumerate(self.bounds):
            upto = bisect_right(ordered, bound)  # values <= bound (le is inclusive)
            counts[k] += upto - below
            below = upto
        counts[-1] += len(ordered) - below
        self.total += math.fsum(ordered)

    def observe_elapsed(self, now: float, stamps: Iterable[float]) -> None:
        """`observe_many(max(0.0, now - t) for t in stamps)`, without a list of differences.

        Event lag, observed for every event: the batch's timestamps are sorted once
        and each bucket bound is found by bisecting on `t - now` (exactly the negated
        difference in IEEE arithmetic, so the counts are those of `observe_many`).
        Timestamps after `now` count as a lag of 0.
        """
        ordered = sorted(stamps)
        n = len(ordered)

        def ahead(t: float) -> float:
            return t - now

        counts = self.counts
        below = 0
        for k, bound in enumerate(self.bounds):
            upto = n - bisect_left(ordered, -bound, key=ahead)  # now - t <= bound
            counts[k] += upto - below
            below = upto
        counts[-1] += n - below
        past = bisect_left(ordered, 0.0, key=ahead)  # t < now: a positive lag
        self.total += math.fsum(map(now.__sub__, ordered[:past]))

    def merge(self, counts: Sequence[int], total: float) -> None:
        """Add the counts and sum of another histogram with the same buckets."""
        if len(counts) != len(self.counts):
            raise ValueError(f"{len(counts)} bucket counts for {len(self.counts)} buckets")
        self.counts = [mine + theirs for mine, theirs in zip(self.counts, counts, strict=True)]
        self.total += total

    def collect(self) -> Iterator[HistogramMetricFamily]:
        cumulative, buckets = 0, []
        for bound, count in zip([*self.bounds, float("inf")], self.counts, strict=True):
            cumulative += count
            buckets.append((_le(bound), cumulative))
        family = HistogramMetricFamily(self.name, self.documentation)
        family.add_metric([], buckets, self.total)
        yield family


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400, float("inf"))


def event_lag_histogram() -> BatchHistogram:
    return BatchHistogram(
        "kpimon_event_lag_seconds",
        "Seconds from an event's occurred_at to the worker storing it.",
        buckets=LAG_BUCKETS,
    )


EVENT_LAG = event_lag_histogram()
REGISTRY.register(EVENT_LAG)
BATCH_SIZE = Histogram(
    "kpimon_worker_batch_messages",
    "Messages per batch handled by the worker.",
    buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, float("inf")),
)
SNAPSHOT_SECONDS = Histogram(
    "kpimon_worker_snapshot_seconds",
    "Seconds spent computing one KPI snapshot.",
    buckets=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, float("inf")),
)
CONSUMER_LAG = Gauge(
    "kpimon_worker_consumer_lag_messages",
    "Messages behind the partition's high watermark, as seen by this worker.",
    ["topic", "partition"],
)
