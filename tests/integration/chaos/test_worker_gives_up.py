"""A worker that cannot make progress exits loudly; one that can rides the outage out.

Against a private Redis (AOF, SIGKILLed here, never the shared one) and the shared
broker: an outage shorter than `KPIMON_WORKER__MAX_STALL_SECONDS` is retried by the
same worker process; one longer makes it log a critical line and exit with status 69,
its KPI child with it. A Redis error no retry cures (a script failing on a key of the
wrong type, every time) makes it exit with status 76 after a few tries, not loop.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pytest
from kafka import KafkaProducer

from streams.retry import EXIT_PERSISTENT, EXIT_STALLED
from tests.integration.chaos.services import PrivateRedis
from tests.integration.monitor import Monitor, wait_for
from tests.integration.processes import gone, kpi_children, log_events

if TYPE_CHECKING:
    from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration

STALL_SECONDS = 6.0
# The stall bound, then a graceful stop (cli.worker.FATAL_STOP_SECONDS at most).
EXIT_WITHIN_SECONDS = STALL_SECONDS + 45.0


def snapshot(event_id: str) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "event_type": "inventory.snapshot",
            "occurred_at": "2026-03-01T10:00:00+01:00",
            "sku": "SKU-1",
            "location": "DC-STALL",
            "on_hand": 5,
            "on_order": 0,
            "in_transit": 0,
            "unit_cost": 4.0,
        }
    )


def publish(monitor: Monitor, *event_ids: str) -> None:
    producer = KafkaProducer(bootstrap_servers=monitor.kafka_bootstrap)
    for event_id in event_ids:
        producer.send(monitor.topic_prefix + "inventory", key=b"DC-STALL", value=snapshot(event_id))
    producer.flush()
    producer.close()


def stored(monitor: Monitor) -> int:
    return sum(v for k, v in monitor.counters().items() if k.startswith("events_total"))


def started(local_stack: LocalStack, redis_url: str, work: Path) -> Monitor:
    monitor = Monitor(
        kafka_bootstrap=local_stack.kafka_bootstrap,
        redis_url=redis_url,
        log_dir=work,
        extra_env={"KPIMON_WORKER__MAX_STALL_SECONDS": str(STALL_SECONDS)},
    )
    monitor.create_topics()
    monitor.start("worker")
    wait_for(
        lambda: monitor.redis().get(f"{monitor.key_prefix}worker:status"),
        timeout=90,
        what="the worker's first status",
    )
    return monitor


def exited(monitor: Monitor) -> tuple[int, float]:
    """Wait for the worker to exit by itself: (status, seconds waited)."""
    worker = monitor.processes["worker"]
    began = time.monotonic()
    try:
        code = worker.wait(timeout=EXIT_WITHIN_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail("the worker kept going:\n" + monitor.log_text("worker")[-3000:])
    return code, time.monotonic() - began


def test_an_outage_shorter_than_the_bound_is_ridden_out_and_a_longer_one_exits_69(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    """Redis down 2 s: same worker, event stored. Down for good: critical log, exit 69."""
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    monitor = started(local_stack, redis.url, tmp_path / "monitor")
    try:
        worker = monitor.processes["worker"]
        publish(monitor, "before")
        wait_for(lambda: stored(monitor) == 1, timeout=60, what="the first event stored")

        redis.kill()
        publish(monitor, "during-short-outage")
        time.sleep(2.0)
        redis.start()
        wait_for(lambda: stored(monitor) == 2, timeout=60, what="the event of the outage")
        assert worker.poll() is None, monitor.log_text("worker")[-3000:]
        retried = [e for e in log_events(monitor.log_text("worker")) if "retrying" in e["event"]]
        assert retried, "the short outage was never noticed"

        (child,) = kpi_children(worker.pid)
        redis.kill()
        publish(monitor, "during-long-outage")
        code, seconds = exited(monitor)
        print(f"worker exited {seconds:.1f}s after Redis went away for good; status {code}")
        assert code == EXIT_STALLED
        critical = [e for e in log_events(monitor.log_text("worker")) if e["level"] == "critical"]
        assert any("batch not stored" in e.get("reason", "") for e in critical), critical
        wait_for(lambda: gone(child), timeout=10, what="the KPI child gone")
    finally:
        monitor.stop()
        redis.stop()


def test_a_redis_error_no_retry_cures_exits_76_after_a_few_tries(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    """The counters key holds a string: every apply fails (WRONGTYPE); exit 76, not a loop."""
    monitor = started(local_stack, local_stack.redis_url, tmp_path / "monitor")
    try:
        publish(monitor, "fine")
        wait_for(lambda: stored(monitor) == 1, timeout=60, what="the first event stored")
        client = monitor.redis()
        client.delete(f"{monitor.key_prefix}counters")
        client.set(f"{monitor.key_prefix}counters", "not a hash")
        publish(monitor, "refused")
        code, seconds = exited(monitor)
        print(f"worker exited {seconds:.1f}s after the first refused batch; status {code}")
        assert code == EXIT_PERSISTENT
        events = log_events(monitor.log_text("worker"))
        assert len([e for e in events if e["event"].startswith("batch not stored")]) == 2
        assert any(e["level"] == "critical" and "WRONGTYPE" in str(e) for e in events)
    finally:
        monitor.stop()
        client = monitor.redis()
        keys = list(client.scan_iter(match=f"{monitor.key_prefix}*", count=1000))
        if keys:
            client.delete(*keys)
