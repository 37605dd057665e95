"""A flood of (up to) 100,000 unknown SKUs and locations: exported series stay within the caps and
Redis memory stays within a per-event bound.

The worker writes to a private Redis (so memory is measured without other tests' data);
the worker writes only the KPIMON_KPI__MAX_LOCATIONS most active locations to the snapshot
and the exporter reports the rest in `kpimon_kpi_locations_over_cap`; the exporter also
applies KPIMON_KPI__MAX_LABEL_VALUES to the other labels.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.chaos.scenario import start_exporter
from tests.integration.chaos.services import PrivateRedis
from tests.integration.monitor import Monitor, wait_for

pytestmark = pytest.mark.integration

# `make test` floods 10,000; KPIMON_TEST_FLOOD=100000 runs the full flood (~7 min here).
FLOOD = int(os.environ.get("KPIMON_TEST_FLOOD", "10000"))
MAX_LOCATIONS = 40
MAX_LABEL_VALUES = 25
# Generous but real: the stored event (its JSON, ~230 bytes, in a hash and a sorted set)
# plus the per-location keys every new location brings.
# Measured: ~4.2 kB/event at 100,000 when the KPI snapshot held every location's series;
# it now holds only the capped locations'.
BYTES_PER_EVENT = 6_000


def _event(index: int) -> bytes:
    minute = index % 1440
    return orjson.dumps(
        {
            "event_id": f"flood-{index}",
            "event_type": "inventory.snapshot",
            "occurred_at": f"2026-04-01T{minute // 60:02d}:{minute % 60:02d}:00+00:00",
            "sku": f"FLOOD-SKU-{index}",
            "location": f"FLOOD-LOC-{index}",
            "on_hand": index % 7,
            "on_order": 0,
            "in_transit": 0,
            "unit_cost": 1.5,
        }
    )


@pytest.fixture()
def flood_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    yield redis
    redis.stop()


def test_flood_of_new_locations_and_skus_is_capped(local_stack, flood_redis, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monitor = Monitor(
        kafka_bootstrap=local_stack.kafka_bootstrap,
        redis_url=flood_redis.url,
        log_dir=tmp_path / "monitor",
        extra_env={
            "KPIMON_KPI__MAX_LOCATIONS": str(MAX_LOCATIONS),
            "KPIMON_KPI__MAX_LABEL_VALUES": str(MAX_LABEL_VALUES),
            "KPIMON_KPI__SNAPSHOT_INTERVAL_SECONDS": "2",
        },
    )
    try:
        monitor.create_topics()
        monitor.start("worker")
        wait_for(lambda: monitor.redis().get(f"{monitor.key_prefix}worker:status"), 120)
        baseline = int(flood_redis.client().info("memory")["used_memory"])
        producer = KafkaProducer(
            bootstrap_servers=monitor.kafka_bootstrap, linger_ms=50, batch_size=512 * 1024
        )
        for index in range(FLOOD):
            producer.send(
                monitor.topic_prefix + "inventory",
                key=f"FLOOD-LOC-{index}".encode(),
                value=_event(index),
            )
        producer.flush(timeout=120)
        producer.close()
        monitor.wait_processed(FLOOD, timeout=400)
        assert monitor.processes["worker"].poll() is None, monitor.log_text("worker")[-3000:]
        monitor.wait_snapshot_of(FLOOD, timeout=300)

        used = int(flood_redis.client().info("memory")["used_memory"]) - baseline
        per_event = used / FLOOD
        snapshot = flood_redis.client().memory_usage(f"{monitor.key_prefix}kpi:snapshot") or 0
        print(
            f"redis memory: {used / 1e6:.1f} MB for {FLOOD} events, {per_event:.0f} B/event "
            f"(KPI snapshot {snapshot / 1e6:.1f} MB)"
        )
        assert per_event < BYTES_PER_EVENT, f"{per_event:.0f} bytes per event"

        start_exporter(monitor)
        text = monitor.metrics_text()
        locations: set[str] = set()
        skus: set[str] = set()
        series = 0
        over_cap = None
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "kpimon_kpi_locations_over_cap":
                    over_cap = sample.value
                if sample.name.startswith("inventory_"):
                    series += 1
                    locations.add(sample.labels.get("location", ""))
                    skus.add(sample.labels.get("sku", ""))
        locations.discard("")
        skus.discard("")
        print(f"exported {series} inventory series, {len(locations)} locations, {len(text)} B")
        assert 0 < len(locations) <= MAX_LOCATIONS
        assert len(skus) <= MAX_LABEL_VALUES
        assert over_cap == FLOOD - len(locations)
        # Bounded exposition: the caps, not the flood, decide its size.
        assert series < MAX_LOCATIONS * 400 and len(text) < 5_000_000
    finally:
        monitor.stop()
