"""Pipeline health: throughput, dead letters, duplicates, lag, alert delivery, scrape health."""

from __future__ import annotations

from typing import Any

from dashboards import promql as q
from dashboards import targets, variables
from dashboards.layout import Section, board
from dashboards.panels import (
    COUNT,
    PER_SECOND,
    RATIO,
    SECONDS,
    Query,
    stat,
    timeseries,
    value_mappings,
)

UID = "kpimon-pipeline"

EVENTS = f"kpimon_events_total{q.selector(q.TOPIC)}"
INVALID = f"kpimon_events_invalid_total{q.selector(q.TOPIC)}"
DUPLICATES = f"kpimon_events_duplicate_total{q.selector(q.TOPIC)}"
JOBS = q.selector(q.MONITOR_JOBS)


def _rate(series: str, labels: str = "") -> str:
    return f"sum{q.by(labels)}(rate({series}{q.RATE}))"


def _rate_quantile(quantile: float, bucket: str) -> str:
    return f"histogram_quantile({quantile:g}, sum by (le) (rate({bucket}{q.RATE})))"


DLQ_SHARE = f"({_rate(INVALID)} or vector(0)) / ({_rate(EVENTS)} + ({_rate(INVALID)} or vector(0)))"
SNAPSHOT_AGE = "time() - max(kpimon_kpi_snapshot_timestamp_seconds)"


def _throughput() -> Section:
    return (
        "Throughput and bad input",
        [
            stat(
                "Events/s",
                "Valid events processed per second over the selected topics "
                "(rate of kpimon_events_total).",
                [Query(_rate(EVENTS), "events/s")],
                unit=PER_SECOND,
                decimals=1,
                width=6,
            ),
            stat(
                "Dead-lettered share",
                "Rejected messages (sent to events-dlq) ÷ all messages consumed, over the rate "
                "interval.",
                [Query(DLQ_SHARE, "DLQ share")],
                unit=RATIO,
                decimals=2,
                target=targets.DLQ_SHARE,
                width=6,
            ),
            stat(
                "Duplicates/s",
                "Redelivered or re-published events recognised by event_id and ignored, per "
                "second.",
                [Query(q.or_zero(_rate(DUPLICATES)), "duplicates/s")],
                unit=PER_SECOND,
                decimals=2,
                width=6,
            ),
            stat(
                "Consumer lag",
                "Messages behind the partitions' high watermarks, Σ over the selected topics.",
                [Query(f"sum(kpimon_consumer_lag_messages{q.selector(q.TOPIC)})", "lag")],
                unit=COUNT,
                decimals=0,
                target=targets.CONSUMER_LAG_MESSAGES,
                width=6,
            ),
            timeseries(
                "Events/s by topic and type",
                "Valid events processed per second, by source topic and event type.",
                [Query(_rate(EVENTS, "topic, event_type"), "{{topic}} {{event_type}}")],
                unit=PER_SECOND,
                decimals=2,
                stacked=True,
            ),
            timeseries(
                "Dead letters/s by reason",
                "Messages rejected to events-dlq per second, by source topic and rejection "
                "reason (malformed JSON, schema violation, unknown type, oversized…).",
                [Query(_rate(INVALID, "topic, reason"), "{{topic}} {{reason}}")],
                unit=PER_SECOND,
                decimals=3,
                stacked=True,
            ),
            timeseries(
                "Duplicates/s by topic",
                "Events ignored as duplicates (same event_id seen before) per second, by topic.",
                [Query(_rate(DUPLICATES, "topic"), "{{topic}}")],
                unit=PER_SECOND,
                decimals=3,
            ),
            timeseries(
                "Consumer lag by topic",
                "Messages behind the high watermark, Σ over each topic's partitions.",
                [
                    Query(
                        f"sum by (topic) (kpimon_consumer_lag_messages{q.selector(q.TOPIC)})",
                        "{{topic}}",
                    )
                ],
                unit=COUNT,
                decimals=0,
                target=targets.CONSUMER_LAG_MESSAGES,
            ),
        ],
    )


def _latency() -> Section:
    return (
        "Latency and freshness",
        [
            timeseries(
                "Event-time lag quantiles",
                "Seconds from an event's occurred_at to the worker storing it "
                "(histogram kpimon_event_lag_seconds), p50/p95/p99 over the rate interval.",
                [
                    Query(q.event_lag_quantile(0.5), "p50"),
                    Query(q.event_lag_quantile(0.95), "p95"),
                    Query(q.event_lag_quantile(0.99), "p99"),
                ],
                unit=SECONDS,
                decimals=1,
                target=targets.EVENT_LAG_SECONDS,
                unit_word=" s",
            ),
            timeseries(
                "Mean event-time lag",
                "Σ event-time lag ÷ number of events over the rate interval "
                "(kpimon_event_lag_seconds_sum ÷ _count).",
                [
                    Query(
                        "sum(rate(kpimon_event_lag_seconds_sum"
                        f"{q.RATE})) / sum(rate(kpimon_event_lag_seconds_count{q.RATE}))",
                        "mean",
                    )
                ],
                unit=SECONDS,
                decimals=1,
                target=targets.EVENT_LAG_SECONDS,
                unit_word=" s",
            ),
            stat(
                "KPI snapshot age",
                "Seconds since the worker last wrote KPIs to Redis "
                "(now - kpimon_kpi_snapshot_timestamp_seconds).",
                [Query(SNAPSHOT_AGE, "age")],
                unit=SECONDS,
                decimals=0,
                target=targets.SNAPSHOT_AGE_SECONDS,
                unit_word=" s",
                width=6,
                height=8,
            ),
            timeseries(
                "Watermark age by location",
                "Seconds between now and each location's event-time watermark (latest "
                "occurred_at less the allowed lateness); grows when a location's feed stalls.",
                [
                    Query(
                        f"time() - max by (location) (inventory_watermark_timestamp_seconds{q.AT})",
                        "{{location}}",
                    )
                ],
                unit=SECONDS,
                decimals=0,
                width=18,
            ),
        ],
    )


def _delivery_and_health() -> Section:
    return (
        "Alert delivery and scrape health",
        [
            timeseries(
                "Alert deliveries/s by channel and outcome",
                "Alert notifications per second by delivery channel (Alertmanager, webhook, "
                "Kafka) and outcome (counter kpimon_alerts_sent_total).",
                [
                    Query(
                        _rate("kpimon_alerts_sent_total", "channel, outcome"),
                        "{{channel}} {{outcome}}",
                    )
                ],
                unit=PER_SECOND,
                decimals=3,
                width=12,
            ),
            stat(
                "Undelivered alert attempts",
                "Alert notifications that failed (and are being retried) or were rejected for "
                "good (dead-lettered), over the dashboard's time range "
                '(kpimon_alerts_sent_total{outcome!="sent"}).',
                [
                    Query(
                        q.or_zero(
                            'sum(increase(kpimon_alerts_sent_total{outcome!="sent"}[$__range]))'
                        ),
                        "failed or rejected",
                    )
                ],
                unit=COUNT,
                decimals=0,
                target=targets.FAILED_DELIVERIES,
                width=6,
                height=8,
            ),
            stat(
                "Targets up",
                'Prometheus scrape health of the monitor\'s jobs (up{job=~"kpimon-.*"}): 1 = '
                "scraped, 0 = down.",
                [Query(f"up{JOBS}", "{{job}} {{instance}}")],
                unit=COUNT,
                decimals=0,
                target=targets.SCRAPE_UP,
                mappings=value_mappings({"1": ("UP", "green"), "0": ("DOWN", "red")}),
                sparkline=False,
                width=6,
                height=8,
            ),
            timeseries(
                "Scrape duration",
                "Seconds Prometheus takes to scrape each monitor job "
                "(scrape_duration_seconds); the exporter reads Redis at scrape time.",
                [Query(f"scrape_duration_seconds{JOBS}", "{{job}}")],
                unit=SECONDS,
                decimals=2,
                target=targets.SCRAPE_SECONDS,
                unit_word=" s",
                width=12,
            ),
            timeseries(
                "Samples per scrape",
                "Series each monitor job exposes per scrape (scrape_samples_scraped): the "
                "cardinality guard on label values should keep this flat.",
                [Query(f"scrape_samples_scraped{JOBS}", "{{job}}")],
                unit=COUNT,
                decimals=0,
                width=12,
            ),
        ],
    )


def _internals() -> Section:
    return (
        "Worker and exporter internals",
        [
            stat(
                "Exporter reads Redis",
                "1 when the exporter's last read of the KPI state in Redis succeeded "
                "(kpimon_exporter_redis_up); 0 means the boards show stale or no KPIs.",
                [Query("min(kpimon_exporter_redis_up)", "redis")],
                unit=COUNT,
                decimals=0,
                target=targets.SCRAPE_UP,
                mappings=value_mappings({"1": ("OK", "green"), "0": ("DOWN", "red")}),
                sparkline=False,
                width=6,
            ),
            stat(
                "Worker heartbeat age",
                "Seconds since the worker last reported its status to Redis "
                "(time() - kpimon_worker_heartbeat_timestamp_seconds).",
                [Query("time() - max(kpimon_worker_heartbeat_timestamp_seconds)", "age")],
                unit=SECONDS,
                decimals=0,
                unit_word=" s",
                width=6,
            ),
            stat(
                "Series over the cap",
                "KPI series the exporter dropped because a label value exceeded the "
                "cardinality cap (kpimon_exporter_dropped_series); the detail stays in Redis.",
                [Query("max(kpimon_exporter_dropped_series)", "dropped")],
                unit=COUNT,
                decimals=0,
                width=6,
            ),
            stat(
                "Exporter Redis read",
                "Seconds the exporter's last Redis read took (kpimon_exporter_read_seconds).",
                [Query("max(kpimon_exporter_read_seconds)", "read")],
                unit=SECONDS,
                decimals=3,
                unit_word=" s",
                width=6,
            ),
            timeseries(
                "Worker batch size (p50, p99)",
                "Messages per batch the worker applies to Redis in one round trip "
                "(histogram kpimon_worker_batch_messages).",
                [
                    Query(_rate_quantile(0.5, "kpimon_worker_batch_messages_bucket"), "p50"),
                    Query(_rate_quantile(0.99, "kpimon_worker_batch_messages_bucket"), "p99"),
                ],
                unit=COUNT,
                decimals=0,
            ),
            timeseries(
                "KPI snapshot compute time and worker-side lag",
                "p99 seconds to recompute the KPI snapshot (kpimon_worker_snapshot_seconds) "
                "and messages behind as the worker sees it "
                "(kpimon_worker_consumer_lag_messages).",
                [
                    Query(
                        _rate_quantile(0.99, "kpimon_worker_snapshot_seconds_bucket"),
                        "snapshot p99 s",
                    ),
                    Query("sum(kpimon_worker_consumer_lag_messages)", "lag (messages)"),
                ],
                unit=COUNT,
                decimals=2,
            ),
        ],
    )


LATE = f"kpimon_events_late_total{q.selector(q.TOPIC)}"


def _containment_and_state() -> Section:
    return (
        "Containment and state",
        [
            stat(
                "Locations not computed (1h)",
                "Location KPI recomputes that failed (their series went stale) or produced "
                "non-finite values (dropped) in the last hour "
                "(kpimon_kpi_location_errors_total); every other location stays fresh.",
                [
                    Query(
                        q.or_zero("sum(increase(kpimon_kpi_location_errors_total[1h]))"),
                        "errors",
                    )
                ],
                unit=COUNT,
                decimals=0,
                width=6,
            ),
            stat(
                "Locations over the export cap",
                "Locations the worker knows but does not export: over "
                "KPIMON_KPI__MAX_LOCATIONS, filled by the allow-list and the most active "
                "(kpimon_kpi_locations_over_cap).",
                [Query(q.or_zero("max(kpimon_kpi_locations_over_cap)"), "over the cap")],
                unit=COUNT,
                decimals=0,
                width=6,
            ),
            stat(
                "Unreadable snapshots (1h)",
                "KPI snapshots the exporter could not read in the last hour; it served the "
                "previous one (kpimon_exporter_snapshot_errors_total).",
                [
                    Query(
                        q.or_zero("sum(increase(kpimon_exporter_snapshot_errors_total[1h]))"),
                        "errors",
                    )
                ],
                unit=COUNT,
                decimals=0,
                width=6,
            ),
            stat(
                "Late events/s",
                "Events whose time bucket had closed (SPEC §4.1) per second: applied where "
                "exact, or dropped when older than the longest window or the dedup horizon "
                "(kpimon_events_late_total).",
                [Query(q.or_zero(_rate(LATE)), "late/s")],
                unit=PER_SECOND,
                decimals=3,
                width=6,
            ),
            timeseries(
                "Late events/s by topic",
                "Events taken as late per second, by source topic (kpimon_events_late_total).",
                [Query(q.or_zero(_rate(LATE, "topic")), "{{topic}}")],
                unit=PER_SECOND,
                decimals=3,
            ),
            timeseries(
                "Location KPI errors/s by reason",
                "Failed location recomputes per second: `exception` (series stale) or "
                "`non_finite` (values dropped) (kpimon_kpi_location_errors_total).",
                [
                    Query(
                        q.or_zero(_rate("kpimon_kpi_location_errors_total", "reason")),
                        "{{reason}}",
                    )
                ],
                unit=PER_SECOND,
                decimals=3,
            ),
        ],
    )


def build() -> dict[str, Any]:
    """The pipeline health board."""
    return board(
        uid=UID,
        title="Inventory KPIs — Pipeline health",
        description="Is the monitor itself healthy: events in, dead letters, duplicates, "
        "consumer and event-time lag, KPI freshness, alert delivery and scrape health.",
        tags=["pipeline"],
        variables=[variables.topic(), variables.location()],
        sections=[
            _throughput(),
            _latency(),
            _delivery_and_health(),
            _containment_and_state(),
            _internals(),
        ],
        time_from="now-1h",
        refresh="10s",
    )
