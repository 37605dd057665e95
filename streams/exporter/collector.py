"""A custom collector that reads the monitor's state from Redis at scrape time.

The worker writes the KPI snapshot and pipeline counters to Redis; this
collector turns them into metric families, with a short cache so that several
scrapers (Prometheus, a person with curl) do not multiply the Redis load. The
KPI families of a snapshot are built once (streams.exporter.kpis) and kept until
the worker writes another snapshot; only its first bytes are read to tell.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any, cast

import orjson
import redis
import structlog
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from streams.exporter.kpis import KpiView, build_view
from streams.exporter.labels import sanitise
from streams.settings import Settings
from streams.store.keys import KeyLayout, parse_counter_field

log = structlog.get_logger(__name__)

# Pipeline counters kept in Redis: field name -> (metric name, label names, help).
PIPELINE_COUNTERS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "events_total": (
        "kpimon_events",
        ("topic", "event_type"),
        "Valid events stored, by input topic and event type.",
    ),
    "events_invalid_total": (
        "kpimon_events_invalid",
        ("topic", "reason"),
        "Messages rejected to the dead-letter topic, by input topic and reason.",
    ),
    "events_late_total": (
        "kpimon_events_late",
        ("topic",),
        "Events whose time bucket had closed (SPEC §4.1): applied where exact, or dropped "
        "when older than the longest window, by input topic.",
    ),
    "events_duplicate_total": (
        "kpimon_events_duplicate",
        ("topic",),
        "Valid events ignored because their event_id was already processed.",
    ),
    "kpi_location_errors_total": (
        "kpimon_kpi_location_errors",
        ("reason",),
        "Location KPI computations that failed (stale series) or produced non-finite "
        "values (dropped), by reason.",
    ),
    "alerts_sent_total": (
        "kpimon_alerts_sent",
        ("channel", "outcome"),
        "Alert notifications attempted, by channel and outcome.",
    ),
}

# The head of a snapshot, `{"generated_at":<time.time()>,"events":<n>,"samples":...`,
# with its length, tells whether the worker wrote a new one since the last read.
HEAD_BYTES = 128


class RedisStateCollector(Collector):
    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self._redis = client
        self._keys = KeyLayout(settings.redis.key_prefix)
        self._cache_seconds = settings.exporter.cache_seconds
        self._cap = settings.kpi.max_label_values
        self._location_cap = settings.kpi.max_locations
        self._allowlist = list(settings.kpi.location_allowlist)
        self._snapshot_errors = 0
        self._lock = threading.Lock()
        self._cached: list[Metric] = []
        self._cached_at = -1e18
        self._view: KpiView | None = None
        self._view_key: tuple[int, bytes] = (0, b"")

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if time.monotonic() - self._cached_at >= self._cache_seconds:
                self._cached = self._read()
                self._cached_at = time.monotonic()
            return iter(list(self._cached))

    def _read(self) -> list[Metric]:
        started = time.monotonic()
        up = Metric("kpimon_exporter_redis_up", "1 when Redis answered the last read.", "gauge")
        try:
            with self._redis.pipeline(transaction=False) as pipe:
                pipe.strlen(self._keys.snapshot)
                pipe.getrange(self._keys.snapshot, 0, HEAD_BYTES - 1)
                pipe.hgetall(self._keys.counters)
                pipe.get(self._keys.worker_status)
                length, head, counters_raw, status_raw = pipe.execute()
            view = self._snapshot_view(length, head)
        except redis.RedisError as error:
            log.warning("redis read failed", error=str(error))
            up.add_sample("kpimon_exporter_redis_up", {}, 0.0)
            return [up]
        up.add_sample("kpimon_exporter_redis_up", {}, 1.0)
        late = view.late if view is not None else {}
        metrics = [up, *self._kpis(view), self._errors(), *self._counters(counters_raw, late)]
        metrics += self._status(status_raw)
        read = Metric("kpimon_exporter_read_seconds", "Seconds the last Redis read took.", "gauge")
        read.add_sample("kpimon_exporter_read_seconds", {}, time.monotonic() - started)
        metrics.append(read)
        return metrics

    def _snapshot_view(self, length: int, head: bytes) -> KpiView | None:
        """The KPI view of the snapshot in Redis, rebuilt only when the snapshot changed."""
        if not length:
            self._view, self._view_key = None, (0, b"")
        elif (length, head) != self._view_key or b'"generated_at":' not in head:
            payload = cast(bytes | None, self._redis.get(self._keys.snapshot))
            if not payload:
                self._view, self._view_key = None, (0, b"")
            else:
                self._view_key = (len(payload), payload[:HEAD_BYTES])
                try:
                    self._view = build_view(
                        payload, self._cap, {"location": self._location_cap}, self._allowlist
                    )
                except Exception:  # a malformed snapshot must not fail the whole scrape
                    self._snapshot_errors += 1
                    log.exception("KPI snapshot not readable; serving the previous one")
        return self._view

    def _kpis(self, view: KpiView | None) -> list[Metric]:
        if view is None:
            return []
        generated = Metric(
            "kpimon_kpi_snapshot_timestamp_seconds",
            "When the worker last computed the KPIs (Unix time).",
            "gauge",
        )
        generated.add_sample("kpimon_kpi_snapshot_timestamp_seconds", {}, view.generated_at)
        capped = Metric(
            "kpimon_exporter_dropped_series",
            "KPI series not exported because a label value was over the cardinality cap.",
            "gauge",
        )
        capped.add_sample("kpimon_exporter_dropped_series", {}, float(view.dropped))
        left_out = Metric(
            "kpimon_kpi_locations_over_cap",
            "Locations the worker knows but does not export: over KPIMON_KPI__MAX_LOCATIONS "
            "(the allow-list and the most active fill the cap).",
            "gauge",
        )
        left_out.add_sample("kpimon_kpi_locations_over_cap", {}, float(view.locations_over_cap))
        return [*view.families, generated, capped, left_out]

    def _errors(self) -> Metric:
        errors = Metric(
            "kpimon_exporter_snapshot_errors",
            "KPI snapshots the exporter could not read (it served the previous one).",
            "counter",
        )
        errors.add_sample("kpimon_exporter_snapshot_errors_total", {}, float(self._snapshot_errors))
        return errors

    def _counters(self, raw: dict[bytes, bytes], late: Mapping[str, int]) -> list[Metric]:
        """The pipeline counters of Redis; late events add the engine's (in its snapshot)
        to those the worker dropped as too old to deduplicate."""
        totals: dict[tuple[str, tuple[str, ...]], float] = defaultdict(float)
        for field, raw_value in raw.items():
            name, labels = parse_counter_field(field.decode())
            totals[(name, labels)] += float(raw_value)
        for topic, late_count in late.items():
            totals[("events_late_total", (topic,))] += late_count
        grouped: dict[str, list[tuple[tuple[str, ...], float]]] = defaultdict(list)
        for (name, labels), value in totals.items():
            grouped[name].append((labels, value))
        metrics = []
        for field_name, (metric_name, label_names, help_text) in PIPELINE_COUNTERS.items():
            metric = Metric(metric_name, help_text, "counter")
            for labels, count in sorted(grouped.get(field_name, [])):
                if len(labels) != len(label_names):
                    continue
                label_map = {
                    name: sanitise(value) for name, value in zip(label_names, labels, strict=True)
                }
                metric.add_sample(f"{metric_name}_total", label_map, count)
            metrics.append(metric)
        return metrics

    def _status(self, raw: bytes | None) -> list[Metric]:
        lag = Metric(
            "kpimon_consumer_lag_messages",
            "Messages behind the high watermark per input partition, as last reported by the "
            "worker.",
            "gauge",
        )
        heartbeat = Metric(
            "kpimon_worker_heartbeat_timestamp_seconds",
            "When the worker last reported (Unix time).",
            "gauge",
        )
        if raw:
            status: dict[str, Any] = orjson.loads(raw)
            for topic, partition, value in status.get("consumer_lag", []):
                lag.add_sample(
                    "kpimon_consumer_lag_messages",
                    {"topic": sanitise(str(topic)), "partition": str(partition)},
                    float(value),
                )
            heartbeat.add_sample(
                "kpimon_worker_heartbeat_timestamp_seconds", {}, float(status["heartbeat"])
            )
        return [lag, heartbeat]
