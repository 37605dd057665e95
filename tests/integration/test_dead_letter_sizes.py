"""Large rejected messages on the real broker: dead-lettered whole when the dead-letter
topic can take them, truncated with their size and SHA-256 when it cannot, and the
stream goes on either way (the worker stays the same process).

Two monitors: one whose topics `kpimon topics create` made (the dead-letter topic has
headroom), with an input topic created elsewhere that takes far larger records than
the dead-letter topic; and one whose dead-letter topic was created elsewhere at the
broker's default size, below what the worker was told (the broker refuses the copy).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic

from streams.kafka.topics import dead_letter_max_message_bytes
from streams.settings import KafkaSettings
from streams.worker.dead_letters import TRUNCATED_VALUE_BYTES
from tests.integration.monitor import Monitor, wait_for

if TYPE_CHECKING:
    from tests.integration.conftest import LocalStack

pytestmark = pytest.mark.integration

EIGHT_MB = 8 << 20
Letter = tuple[bytes | None, dict[str, str]]


def snapshot(event_id: str) -> bytes:
    return orjson.dumps(
        {
            "event_id": event_id,
            "event_type": "inventory.snapshot",
            "occurred_at": "2026-03-01T10:00:00+01:00",
            "sku": "SKU-1",
            "location": "DC-BIG",
            "on_hand": 3,
            "on_order": 0,
            "in_transit": 0,
            "unit_cost": 4.0,
        }
    )


def padded(size: int) -> bytes:
    """An invalid JSON value of exactly `size` bytes (rejected as invalid_json or oversized)."""
    head = b'{"event_id": "big", "pad": "'
    return head + b"p" * (size - len(head))


def create_topic(monitor: Monitor, short: str, max_bytes: int) -> None:
    """A topic made by someone else, before `kpimon topics create` (which leaves it)."""
    admin = KafkaAdminClient(bootstrap_servers=monitor.kafka_bootstrap)
    try:
        admin.create_topics(
            [
                NewTopic(
                    monitor.topic_prefix + short,
                    num_partitions=2,
                    replication_factor=1,
                    topic_configs={"max.message.bytes": str(max_bytes)},
                )
            ]
        )
    finally:
        admin.close()


def topic_max_bytes(monitor: Monitor, short: str) -> int:
    admin = KafkaAdminClient(bootstrap_servers=monitor.kafka_bootstrap)
    try:
        name = monitor.topic_prefix + short
        described: Any = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
        return int(described["topic"][name]["max.message.bytes"]["value"])
    finally:
        admin.close()


def start(monitor: Monitor) -> None:
    monitor.create_topics()
    monitor.start("worker")
    wait_for(
        lambda: monitor.redis().get(f"{monitor.key_prefix}worker:status"),
        timeout=90,
        what="the worker's first status",
    )


def publish(monitor: Monitor, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=monitor.kafka_bootstrap, max_request_size=EIGHT_MB)
    for value in values:
        producer.send(monitor.topic_prefix + "inventory", key=b"DC-BIG", value=value)
    producer.flush()
    producer.close()


def dead_letters(monitor: Monitor, count: int) -> dict[int, Letter]:
    """The dead-letter topic's records by source offset (waits for `count` of them)."""
    consumer = KafkaConsumer(
        monitor.topic_prefix + "events-dlq",
        bootstrap_servers=monitor.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
        max_partition_fetch_bytes=EIGHT_MB,
        fetch_max_bytes=4 * EIGHT_MB,
    )
    found: dict[int, Letter] = {}

    def drain() -> bool:
        for record in consumer:
            headers = {k: v.decode() for k, v in record.headers}
            found[int(headers["source_offset"])] = (record.value, headers)
        return len(found) >= count

    try:
        wait_for(drain, timeout=90, what=f"{count} dead letters")
    finally:
        consumer.close()
    return found


def stored(monitor: Monitor) -> int:
    return sum(v for k, v in monitor.counters().items() if k.startswith("events_total"))


@pytest.fixture(scope="module")
def headroom_run(
    local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Monitor, dict[str, Letter]]]:
    """Limit 20,000 bytes; inventory made elsewhere taking 8 MB; the rest by kpimon."""
    limit = 20_000
    monitor = Monitor(
        kafka_bootstrap=local_stack.kafka_bootstrap,
        redis_url=local_stack.redis_url,
        log_dir=tmp_path_factory.mktemp("headroom"),
        extra_env={"KPIMON_KAFKA__MAX_MESSAGE_BYTES": str(limit)},
    )
    try:
        create_topic(monitor, "inventory", EIGHT_MB)
        start(monitor)
        just_under = padded(limit - 1)
        over = padded(30_000)
        huge = padded(3_000_000)
        values = [snapshot("a"), just_under, snapshot("b"), over, snapshot("c"), huge]
        publish(monitor, [*values, snapshot("d")])
        wait_for(lambda: stored(monitor) == 4, timeout=90, what="the valid events stored")
        letters = dead_letters(monitor, 3)

        def size_of(letter: Letter) -> int:  # of the message that was rejected
            return int(letter[1].get("original_size", len(letter[0] or b"")))

        found = {
            kind: next(letter for letter in letters.values() if size_of(letter) == len(raw))
            for kind, raw in (("just_under", just_under), ("over", over), ("huge", huge))
        }
        yield monitor, found
    finally:
        monitor.stop()


def test_the_dead_letter_topic_is_created_with_headroom(
    headroom_run: tuple[Monitor, dict[str, Letter]],
) -> None:
    """`kpimon topics create` gives events-dlq the input limit, doubled, plus 64 KiB."""
    monitor, _ = headroom_run
    expected = dead_letter_max_message_bytes(KafkaSettings(max_message_bytes=20_000))
    assert topic_max_bytes(monitor, "events-dlq") == expected


def test_a_message_just_under_the_input_limit_is_dead_lettered_whole(
    headroom_run: tuple[Monitor, dict[str, Letter]],
) -> None:
    """limit - 1 bytes of bad JSON: byte for byte in events-dlq, headers and all."""
    _, found = headroom_run
    value, headers = found["just_under"]
    assert value == padded(19_999)
    assert headers["reason"] == "invalid_json"
    assert "truncated" not in headers


def test_an_oversized_message_the_topic_takes_is_dead_lettered_whole(
    headroom_run: tuple[Monitor, dict[str, Letter]],
) -> None:
    """30 kB over a 20 kB limit: rejected as oversized, copied whole."""
    _, found = headroom_run
    value, headers = found["over"]
    assert value == padded(30_000)
    assert headers["reason"] == "oversized"
    assert "truncated" not in headers


def test_a_message_larger_than_the_dead_letter_topic_takes_is_truncated_with_size_and_hash(
    headroom_run: tuple[Monitor, dict[str, Letter]],
) -> None:
    """3 MB (the input topic took it): its first KiB, original_size and sha256 headers."""
    monitor, found = headroom_run
    huge = padded(3_000_000)
    value, headers = found["huge"]
    assert value == huge[:TRUNCATED_VALUE_BYTES]
    assert headers["truncated"] == "true"
    assert headers["original_size"] == "3000000"
    assert headers["sha256"] == hashlib.sha256(huge).hexdigest()
    assert headers["reason"] == "oversized"
    assert headers["source_topic"] == monitor.topic_prefix + "inventory"


def test_the_stream_goes_on_in_the_same_worker(
    headroom_run: tuple[Monitor, dict[str, Letter]],
) -> None:
    """Valid events around the large ones are all stored; the worker never restarted."""
    monitor, _ = headroom_run
    assert stored(monitor) == 4
    assert monitor.processes["worker"].poll() is None
    assert monitor.log_text("worker").count("kpi process ready") == 1


def test_a_dead_letter_the_broker_refuses_as_too_large_is_sent_truncated(
    local_stack: LocalStack, tmp_path: Path
) -> None:
    """events-dlq made elsewhere at the broker default: a 1 MiB reject is truncated, not fatal."""
    limit = 1 << 20
    monitor = Monitor(
        kafka_bootstrap=local_stack.kafka_bootstrap,
        redis_url=local_stack.redis_url,
        log_dir=tmp_path,
        extra_env={"KPIMON_KAFKA__MAX_MESSAGE_BYTES": str(limit)},
    )
    try:
        create_topic(monitor, "events-dlq", 1_048_588)
        start(monitor)
        just_under = padded(limit - 1)  # its copy plus headers is over 1,048,588
        publish(monitor, [snapshot("x"), just_under, snapshot("y")])
        wait_for(lambda: stored(monitor) == 2, timeout=90, what="the valid events stored")
        [(value, headers)] = dead_letters(monitor, 1).values()
        assert value == just_under[:TRUNCATED_VALUE_BYTES]
        assert headers["truncated"] == "true"
        assert headers["original_size"] == str(limit - 1)
        assert headers["sha256"] == hashlib.sha256(just_under).hexdigest()
        assert headers["reason"] == "invalid_json"
        assert monitor.processes["worker"].poll() is None
        assert "refused by the broker as too large" in monitor.log_text("worker")
    finally:
        monitor.stop()
