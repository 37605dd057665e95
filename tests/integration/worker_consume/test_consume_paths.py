"""Both consumption paths end to end: bulk (the default) and faust's per-message agent.

Every message is counted exactly once, offsets reach Kafka's group commit only after the
batch is in Redis, and a worker killed mid-stream resumes from its committed offsets
without losing or double-counting anything. (The rest of the suite runs the default,
bulk; `KPIMON_WORKER__BULK_CONSUME=false` selects the agent path.) The agent case also
runs the KPI side inside the worker process (`KPIMON_WORKER__KPI_PROCESS=false`); the
default runs it in a child process, which, SIGKILLed, is replaced and rebuilt from Redis.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.integration.monitor import Monitor, wait_for


def snapshot(event_id: str, location: str, on_hand: int) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "event_type": "inventory.snapshot",
            "occurred_at": "2026-03-01T10:00:00+01:00",
            "sku": "SKU-1",
            "location": location,
            "on_hand": on_hand,
            "on_order": 0,
            "in_transit": 0,
            "unit_cost": 4.0,
        }
    )


def publish(monitor: Monitor, start: int, count: int) -> None:
    producer = KafkaProducer(bootstrap_servers=monitor.kafka_bootstrap)
    for index in range(start, start + count):
        location = f"DC-{index % 7}"
        producer.send(
            monitor.topic_prefix + "inventory",
            key=location.encode(),
            value=snapshot(f"bulk-{index}", location, index),
        )
    producer.flush()
    producer.close()


def committed(monitor: Monitor) -> int:
    topic = monitor.topic_prefix + "inventory"
    consumer = KafkaConsumer(
        bootstrap_servers=monitor.kafka_bootstrap,
        group_id=f"kpimon-test-{monitor.name}",
        enable_auto_commit=False,
    )
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        return sum(consumer.committed(TopicPartition(topic, p)) or 0 for p in partitions)
    finally:
        consumer.close()


def counted(monitor: Monitor, counter: str) -> int:
    return sum(v for k, v in monitor.counters().items() if k.startswith(counter + "|"))


@pytest.mark.parametrize(
    ("bulk", "kpi_process"),
    [("true", "true"), ("false", "false")],
    ids=["bulk-kpi-process", "agent-kpi-in-worker"],
)
def test_worker_counts_once_commits_after_apply_and_resumes(
    monitor_factory: object, bulk: str, kpi_process: str
) -> None:
    """Counted once, committed only after Redis has it, and resumed after a SIGKILL."""
    env = {"KPIMON_WORKER__BULK_CONSUME": bulk, "KPIMON_WORKER__KPI_PROCESS": kpi_process}
    monitor: Monitor = monitor_factory(env, exporter=False)  # type: ignore[operator]
    publish(monitor, 0, 600)
    monitor.wait_processed(600)
    # The commit follows the apply: once everything is in Redis it reaches Kafka.
    wait_for(lambda: committed(monitor) == 600, timeout=30, what="offsets committed")
    assert counted(monitor, "events_total") == 600

    monitor.kill("worker", signal.SIGKILL)
    publish(monitor, 600, 600)
    monitor.start("worker")
    monitor.wait_processed(1200)
    wait_for(lambda: committed(monitor) == 1200, timeout=60, what="offsets committed")
    assert counted(monitor, "events_total") == 1200
    assert counted(monitor, "events_duplicate_total") == 0
    monitor.wait_snapshot_of(1200)
    assert snapshot_events(monitor) == 1200


def snapshot_events(monitor: Monitor) -> int:
    """Distinct events the engine had been given when it wrote the KPI snapshot."""
    raw = monitor.redis().get(f"{monitor.key_prefix}kpi:snapshot")
    assert raw, "no KPI snapshot"
    return int(orjson.loads(raw)["events"])


def kpi_process_pids(worker_pid: int) -> list[int]:
    """The worker's KPI child processes (by parent pid and command line)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == worker_pid and b"streams.worker.kpi.child" in command:
            found.append(int(entry.name))
    return found


def test_killed_kpi_process_is_replaced_and_rebuilt_without_loss_or_double(
    monitor_factory: object,
) -> None:
    """SIGKILL of the KPI child: a new one rebuilds from Redis; every event counts exactly once."""
    monitor: Monitor = monitor_factory({}, exporter=False)  # type: ignore[operator]
    publish(monitor, 0, 600)
    monitor.wait_snapshot_of(600)
    worker_pid = monitor.processes["worker"].pid
    (first,) = kpi_process_pids(worker_pid)
    os.kill(first, signal.SIGKILL)
    publish(monitor, 600, 600)
    monitor.wait_snapshot_of(1200)
    time.sleep(2)  # a few more snapshot ticks: a batch fed twice would show by now
    assert snapshot_events(monitor) == 1200
    (second,) = kpi_process_pids(worker_pid)
    assert second != first
    assert "kpi process gone" in monitor.log_text("worker")
    assert counted(monitor, "events_total") == 1200


def test_hung_kpi_process_is_replaced_after_the_feed_timeout(monitor_factory: object) -> None:
    """A KPI child that stops answering (SIGSTOP) is killed and replaced; counts stay exact."""
    env = {"KPIMON_WORKER__KPI_FEED_TIMEOUT_SECONDS": "3"}
    monitor: Monitor = monitor_factory(env, exporter=False)  # type: ignore[operator]
    publish(monitor, 0, 600)
    monitor.wait_snapshot_of(600)
    worker_pid = monitor.processes["worker"].pid
    (first,) = kpi_process_pids(worker_pid)
    os.kill(first, signal.SIGSTOP)
    try:
        publish(monitor, 600, 300)  # fed to the stopped child: no answer
        monitor.wait_processed(900)
        publish(monitor, 900, 300)  # waits for that answer, times out, replaces the child
        monitor.wait_snapshot_of(1200, timeout=90)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(first, signal.SIGCONT)
    time.sleep(2)
    assert snapshot_events(monitor) == 1200
    (second,) = kpi_process_pids(worker_pid)
    assert second != first
    assert "no answer in 3s" in monitor.log_text("worker")
    assert counted(monitor, "events_total") == 1200
