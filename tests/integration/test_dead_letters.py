"""Bad input on the real Kafka goes to events-dlq with its reason; the stream goes on."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from tests.integration.monitor import Monitor, wait_for

pytestmark = pytest.mark.integration

MAX_BYTES = 20_000


def snapshot(event_id: str, **changes: object) -> dict[str, object]:
    event: dict[str, object] = {
        "event_id": event_id,
        "event_type": "inventory.snapshot",
        "occurred_at": "2026-03-01T10:00:00+01:00",
        "sku": "SKU-1",
        "location": "DC-DLQ",
        "on_hand": 10,
        "on_order": 0,
        "in_transit": 0,
        "unit_cost": 4.0,
    }
    for key, value in changes.items():
        if value is ...:
            event.pop(key)
        else:
            event[key] = value
    return event


# (name, topic, raw bytes, expected reason) — one per bad-input case of SPEC §3.
POISON: list[tuple[str, str, bytes, str]] = [
    ("malformed json", "inventory", b'{"event_id": "p1", ', "invalid_json"),
    ("invalid utf-8", "inventory", b'{"event_id": "\xff\xfe"}', "invalid_json"),
    ("wrong type", "inventory", orjson.dumps(snapshot("p2", on_hand="ten")), "wrong_type"),
    ("missing field", "inventory", orjson.dumps(snapshot("p3", sku=...)), "missing_field"),
    ("unknown field", "inventory", orjson.dumps(snapshot("p4", colour=1)), "unknown_field"),
    ("negative quantity", "inventory", orjson.dumps(snapshot("p5", on_hand=-3)), "out_of_range"),
    (
        "timestamp without offset",
        "inventory",
        orjson.dumps(snapshot("p6", occurred_at="2026-03-01T10:00:00")),
        "timestamp_without_offset",
    ),
    (
        "unknown event type",
        "inventory",
        orjson.dumps(snapshot("p7", event_type="inventory.teleported")),
        "unknown_event_type",
    ),
    (
        "oversized",
        "inventory",
        orjson.dumps(snapshot("p8", reason="x" * MAX_BYTES)),
        "oversized",
    ),
    ("wrong topic", "orders", orjson.dumps(snapshot("p9")), "wrong_topic"),
]


@pytest.fixture(scope="module")
def dlq_run(monitor_factory: object) -> Iterator[tuple[Monitor, dict[str, tuple[bytes, dict]]]]:
    monitor: Monitor = monitor_factory(  # type: ignore[operator]
        {"KPIMON_KAFKA__MAX_MESSAGE_BYTES": str(MAX_BYTES)}
    )
    producer = KafkaProducer(bootstrap_servers=monitor.kafka_bootstrap)
    # Valid events before, between and after the poison, all for the same partition key.
    valid = 0
    for index, (_name, topic, raw, _reason) in enumerate(POISON):
        producer.send(
            monitor.topic_prefix + "inventory",
            key=b"DC-DLQ",
            value=orjson.dumps(snapshot(f"ok-{index}", on_hand=index + 1)),
        )
        valid += 1
        producer.send(monitor.topic_prefix + topic, key=b"DC-DLQ", value=raw)
    producer.send(
        monitor.topic_prefix + "inventory", key=b"DC-DLQ", value=orjson.dumps(snapshot("ok-end"))
    )
    valid += 1
    producer.flush()
    monitor.wait_processed(valid + len(POISON))

    consumer = KafkaConsumer(
        monitor.topic_prefix + "events-dlq",
        bootstrap_servers=monitor.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
        max_partition_fetch_bytes=1 << 22,
    )
    dead: dict[str, tuple[bytes, dict]] = {}

    def drain() -> bool:
        for record in consumer:
            headers = {k: v.decode() for k, v in record.headers}
            dead[headers["source_topic"] + ":" + headers["source_offset"]] = (
                record.value,
                headers,
            )
        return len(dead) >= len(POISON)

    wait_for(drain, timeout=60, what="all poison messages in the dead-letter topic")
    consumer.close()
    yield monitor, dead


@pytest.mark.parametrize(("name", "topic", "raw", "reason"), POISON, ids=[p[0] for p in POISON])
def test_poison_message_reaches_dlq_byte_for_byte_with_reason(
    dlq_run: tuple[Monitor, dict[str, tuple[bytes, dict]]],
    name: str,
    topic: str,
    raw: bytes,
    reason: str,
) -> None:
    """Each bad-input case lands in events-dlq unchanged, with reason, topic, partition, offset."""
    monitor, dead = dlq_run
    matches = [headers for value, headers in dead.values() if value == raw]
    assert len(matches) == 1, f"{name}: expected exactly one dead letter"
    headers = matches[0]
    assert headers["reason"] == reason
    assert headers["source_topic"] == monitor.topic_prefix + topic
    assert headers["source_partition"].isdigit()
    assert headers["source_offset"].isdigit()
    assert headers["detail"]


def test_valid_events_around_poison_are_stored(
    dlq_run: tuple[Monitor, dict[str, tuple[bytes, dict]]],
) -> None:
    """Valid events interleaved with poison are all counted, none lost."""
    monitor, _dead = dlq_run
    counters = monitor.counters()
    assert counters["events_total|inventory|inventory.snapshot"] == len(POISON) + 1


def test_exporter_counts_rejections_by_reason(
    dlq_run: tuple[Monitor, dict[str, tuple[bytes, dict]]],
) -> None:
    """The exporter serves kpimon_events_invalid_total per topic and reason."""
    monitor, _dead = dlq_run
    text = monitor.metrics_text()
    assert 'kpimon_events_invalid_total{reason="oversized",topic="inventory"} 1.0' in text
    assert 'kpimon_events_invalid_total{reason="invalid_json",topic="inventory"} 2.0' in text
    assert 'kpimon_events_invalid_total{reason="wrong_topic",topic="orders"} 1.0' in text
    assert (
        'kpimon_events_total{event_type="inventory.snapshot",topic="inventory"} '
        f"{float(len(POISON) + 1)}" in text
    )
