"""State that scales (SPEC §4.1), through the real Kafka, worker, Redis and exporter.

After a checkpoint Redis holds aggregates and dedup entries, not the raw events;
a worker SIGKILLed and restarted loads the checkpoint and replays only the log
written since, and serves the same KPIs; events too old for their location's
windows are counted late and change nothing.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from streams.store.snapshot import decode_snapshot
from tests.integration.fixtures import MonitorFactory
from tests.integration.kpi_logs import kpi_series, simulator_log
from tests.integration.monitor import Monitor, wait_for

pytestmark = pytest.mark.integration

EVENTS = 2000


def publish_log(monitor: Monitor, log: Path) -> int:
    result = monitor.kpimon("publish", str(log))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return sum(1 for line in log.read_bytes().splitlines() if line.strip())


def checkpointed(monitor: Monitor) -> bool:
    """A checkpoint is in place and the log it covers is trimmed."""
    client = monitor.redis()
    prefix = monitor.key_prefix
    return bool(client.hget(f"{prefix}state:meta", "applied")) and client.xlen(f"{prefix}log") == 0


def snapshot_after(monitor: Monitor, moment: float) -> Any:
    raw = monitor.redis().get(f"{monitor.key_prefix}kpi:snapshot")
    if raw is None:
        return None
    snapshot = decode_snapshot(raw)
    return snapshot if snapshot.generated_at > moment else None


def test_a_restart_loads_the_checkpoint_and_serves_the_same_kpis(
    monitor_factory: MonitorFactory, tmp_path: Path
) -> None:
    """SIGKILL after a checkpoint: the new worker replays nothing and serves identical KPIs."""
    monitor = monitor_factory()
    lines = publish_log(monitor, simulator_log(tmp_path, 7, EVENTS))
    monitor.wait_processed(lines, timeout=180)
    monitor.wait_snapshot_of(lines)
    wait_for(lambda: checkpointed(monitor), timeout=60, what="a checkpoint and a trimmed log")
    client = monitor.redis()
    raw_payloads = [k for k in client.scan_iter(f"{monitor.key_prefix}log:*")]
    assert raw_payloads == []  # no raw event is kept once the checkpoint covers it
    before = kpi_series(monitor)
    assert before

    monitor.kill("worker", signal.SIGKILL)
    killed_at = time.time()
    monitor.start("worker")
    wait_for(lambda: snapshot_after(monitor, killed_at), timeout=90, what="a fresh snapshot")
    restored = [
        orjson.loads(line)
        for line in monitor.log_text("worker").splitlines()
        if '"engine restored"' in line
    ]
    assert restored and restored[-1]["events_replayed"] == 0, restored[-1:]
    wait_for(lambda: kpi_series(monitor) == before, timeout=30, what="the same KPIs")


def test_events_too_old_for_the_windows_are_counted_late_and_change_nothing(
    monitor_factory: MonitorFactory,
) -> None:
    """An event older than its location's longest window, or than the dedup horizon, is late."""
    monitor = monitor_factory()
    now = time.time()
    day = 86400.0

    def snapshot(event_id: str, t: float, on_hand: float) -> bytes:
        return orjson.dumps(
            {
                "event_id": event_id, "event_type": "inventory.snapshot",
                "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)),
                "sku": "S1", "location": "DC-LATE", "on_hand": on_hand, "on_order": 0,
                "in_transit": 0, "unit_cost": 2.0,
            }
        )  # fmt: skip

    producer = KafkaProducer(bootstrap_servers=monitor.kafka_bootstrap)
    topic = monitor.topic_prefix + "inventory"
    producer.send(topic, key=b"DC-LATE", value=snapshot("now", now - 60, 10))
    producer.flush()
    monitor.wait_snapshot_of(1)
    # 40 days old: beyond the 30d window (the engine drops it) and the 30d dedup horizon
    # (the worker drops it before storing); 20 days: within both, applied.
    producer.send(topic, key=b"DC-LATE", value=snapshot("old-40", now - 40 * day, 99))
    producer.send(topic, key=b"DC-LATE", value=snapshot("old-20", now - 20 * day, 77))
    producer.flush()
    producer.close()
    monitor.wait_processed(3)

    def late_total() -> float | None:
        for line in monitor.metrics_text().splitlines():
            if line.startswith('kpimon_events_late_total{topic="inventory"}'):
                return float(line.rsplit(" ", 1)[1])
        return None

    wait_for(lambda: late_total() == 2.0, timeout=60, what="two late events")
    # The current position is the newest snapshot's: neither late one moved it.
    series = kpi_series(monitor)
    values = {name: v for (name, labels), v in series.items() if ("location", "DC-LATE") in labels}
    assert values["inventory_value_dollars"] == 20.0
