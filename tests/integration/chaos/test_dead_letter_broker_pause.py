"""A broker that stops answering mid-stream: dead-letter sends time out, are retried, and
every rejected message ends up in events-dlq, processed by the same worker process.

A private broker (never the shared one) holds a backlog of bad messages with a few valid
events among them; the worker (sends time out after 2 s) works through it, dead-lettering
as it goes, and the broker is frozen with SIGSTOP for 5 s meanwhile (shorter than the
consumer session, so no rebalance is needed either). Before the fix, the first
aiokafka timeout escaped the batch retry and killed the worker.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from tests.integration.chaos.services import PrivateKafka
from tests.integration.monitor import Monitor, wait_for
from tests.integration.processes import log_events

if TYPE_CHECKING:
    from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration

BAD = 20_000
VALID_EVERY = 1_000
PAUSE_SECONDS = 5.0
KAFKA_ERRORS = ("Timeout", "TimedOut", "Connection", "NodeNotReady", "NoBrokers")


def snapshot(event_id: str, location: str) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "event_type": "inventory.snapshot",
            "occurred_at": "2026-03-01T10:00:00+01:00",
            "sku": "SKU-1",
            "location": location,
            "on_hand": 1,
            "on_order": 0,
            "in_transit": 0,
            "unit_cost": 4.0,
        }
    )


def processed(monitor: Monitor) -> int:
    return sum(v for k, v in monitor.counters().items() if k.startswith("events_"))


def dead_lettered(monitor: Monitor, expected: int) -> set[tuple[str, str]]:
    """Distinct (partition, offset) sources in events-dlq (a retry may repeat some)."""
    consumer = KafkaConsumer(
        monitor.topic_prefix + "events-dlq",
        bootstrap_servers=monitor.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    sources: set[tuple[str, str]] = set()

    def drain() -> bool:
        for record in consumer:
            headers = dict(record.headers)
            sources.add((headers["source_partition"].decode(), headers["source_offset"].decode()))
        return len(sources) >= expected

    try:
        wait_for(drain, timeout=120, what=f"{expected} distinct dead letters")
    finally:
        consumer.close()
    return sources


def test_dead_letter_sends_that_time_out_are_retried_by_the_same_worker(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    """SIGSTOP of the broker for 5 s mid-backlog: retried sends, all dead-lettered, no restart."""
    broker = PrivateKafka(tmp_path / "kafka")
    broker.start()
    monitor = Monitor(
        kafka_bootstrap=broker.bootstrap,
        redis_url=local_stack.redis_url,
        log_dir=tmp_path / "monitor",
        extra_env={
            "KPIMON_WORKER__SEND_TIMEOUT_SECONDS": "2",
            "KPIMON_WORKER__BATCH_SIZE": "500",
        },
    )
    paused = False
    try:
        monitor.create_topics()
        # The backlog is on the broker before the worker starts: it fetches most of it
        # at once, so whenever the broker freezes, the next thing it waits for is a
        # dead-letter acknowledgement.
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=20)
        valid = 0
        for index in range(BAD):
            location = f"DC-P{index % 2}"
            if index % VALID_EVERY == 0:
                producer.send(
                    monitor.topic_prefix + "inventory",
                    key=location.encode(),
                    value=snapshot(f"ok-{index}", location),
                )
                valid += 1
            producer.send(
                monitor.topic_prefix + "inventory",
                key=location.encode(),
                value=b'{"event_id": "bad-%d", ' % index,
            )
        producer.flush()
        producer.close()

        monitor.start("worker")
        worker = monitor.processes["worker"]
        wait_for(lambda: processed(monitor) > 0, timeout=120, interval=0.01, what="a batch")
        assert processed(monitor) < BAD, "the backlog was gone before the broker froze"
        assert broker.process is not None
        os.kill(broker.process.pid, signal.SIGSTOP)
        paused = True
        time.sleep(PAUSE_SECONDS)
        os.kill(broker.process.pid, signal.SIGCONT)
        paused = False

        wait_for(
            lambda: worker.poll() is not None or processed(monitor) >= BAD + valid,
            timeout=180,
            what=f"{BAD + valid} messages processed",
        )
        assert worker.poll() is None, "worker died:\n" + monitor.log_text("worker")[-3000:]
        assert monitor.processes["worker"] is worker
        counters = monitor.counters()
        assert counters["events_total|inventory|inventory.snapshot"] == valid
        assert len(dead_lettered(monitor, BAD)) == BAD

        events = log_events(monitor.log_text("worker"))
        retried = [
            e
            for e in events
            if e["event"] == "batch not stored; retrying"
            and any(kind in e["error"] for kind in KAFKA_ERRORS)
        ]
        assert retried, "no dead-letter send hit the frozen broker"
        assert not [e for e in events if e["level"] == "critical"]
        print(f"{len(retried)} batch retries on Kafka errors, e.g. {retried[0]['error']!r}")
    finally:
        if paused and broker.process is not None:
            os.kill(broker.process.pid, signal.SIGCONT)
        monitor.stop()
        broker.stop()
