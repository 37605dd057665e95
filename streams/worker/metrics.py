"""Process-local metrics of the worker, served on its own port (default 9465).

Counters that must survive restarts (events, dead letters, duplicates) live in
Redis and are served by the exporter; these are the worker's live figures.
"""

from __future__ import annotations

from prometheus_client import Gauge, Histogram

EVENT_LAG = Histogram(
    "kpimon_event_lag_seconds",
    "Seconds from an event's occurred_at to the worker storing it.",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400, float("inf")),
)
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
