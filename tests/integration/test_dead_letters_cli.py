"""`kpimon dead-letters` on the real Kafka: summarise, export, fix and replay with publish."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from tests.integration.conftest import LocalStack
from tests.integration.monitor import Monitor, wait_for

pytestmark = pytest.mark.integration


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
    event.update(changes)
    return event


def order(event_id: str, **changes: object) -> dict[str, object]:
    event: dict[str, object] = {
        "event_id": event_id,
        "event_type": "order.placed",
        "occurred_at": "2026-03-01T10:00:00+00:00",
        "order_id": f"O-{event_id}",
        "location": "DC-DLQ",
        "customer_id": "C-1",
        "customer_tier": "key",
        "channel": "web",
        "region": "eu",
        "promised_at": "2026-03-03T10:00:00+00:00",
        "lines": [{"line_id": "1", "sku": "SKU-1", "quantity": 2, "unit_price": 9.5}],
    }
    event.update(changes)
    return event


# (reason, source topic, DLQ partition, value) in the order they are dead-lettered,
# one minute apart; the fix an operator would apply to each JSON one.
LETTERS: list[tuple[str, str, int, bytes]] = [
    ("wrong_type", "inventory", 0, orjson.dumps(snapshot("dl-1", on_hand="ten"))),
    ("unknown_field", "inventory", 1, orjson.dumps(snapshot("dl-2", colour="red"))),
    ("invalid_json", "inventory", 0, b'{"event_id": "dl-3", '),
    (
        "timestamp_without_offset",
        "orders",
        1,
        json.dumps(order("dl-4", occurred_at="2026-03-01T10:00:00"), indent=2).encode(),
    ),
    ("wrong_type", "orders", 1, orjson.dumps(order("dl-5", customer_tier=7))),
    ("invalid_json", "orders", 0, b"\xff\xfe not even text"),
]


def fix(event: dict[str, object]) -> dict[str, object]:
    """What the operator does to each exported line before replaying it."""
    fixed = dict(event)
    if fixed.get("on_hand") == "ten":
        fixed["on_hand"] = 10
    fixed.pop("colour", None)
    if fixed.get("occurred_at") == "2026-03-01T10:00:00":
        fixed["occurred_at"] = "2026-03-01T10:00:00+00:00"
    if fixed.get("customer_tier") == 7:
        fixed["customer_tier"] = "standard"
    return fixed


def iso(millis: int) -> str:
    return datetime.fromtimestamp(millis / 1000, UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture(scope="module")
def dead_letters(
    local_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Monitor, list[int]]]:
    """A fresh topic prefix with its topics, and the DLQ records produced as the worker does."""
    monitor = Monitor(
        kafka_bootstrap=local_stack.kafka_bootstrap,
        redis_url=local_stack.redis_url,
        log_dir=tmp_path_factory.mktemp("dead-letters"),
    )
    monitor.create_topics()
    # Whole seconds an hour ago (well inside retention), one minute apart.
    base = (int(time.time()) - 3600) * 1000
    stamps = [base + 60_000 * index for index in range(len(LETTERS))]
    producer = KafkaProducer(bootstrap_servers=local_stack.kafka_bootstrap)
    for index, (reason, source, partition, value) in enumerate(LETTERS):
        headers = [
            ("reason", reason.encode()),
            ("detail", f"detail of {reason}".encode()),
            ("source_topic", (monitor.topic_prefix + source).encode()),
            ("source_partition", b"0"),
            ("source_offset", str(100 + index).encode()),
            ("rejected_at", f"{stamps[index] / 1000:.3f}".encode()),
        ]
        producer.send(
            monitor.topic_prefix + "events-dlq",
            key=b"DC-DLQ",
            value=value,
            headers=headers,
            partition=partition,
            timestamp_ms=stamps[index],
        )
    producer.flush()
    producer.close()
    yield monitor, stamps
    monitor.stop()


def run_ok(monitor: Monitor, *args: str) -> str:
    result = monitor.kpimon("dead-letters", *args, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    return str(result.stdout.decode())


def rows(summary: str) -> list[list[str]]:
    """The table rows of a summary: count, reason, source topic, first seen, last seen."""
    split = [line.split() for line in summary.splitlines()]
    return [row for row in split if row and row[0].isdigit()]


def test_summary_counts_by_reason_and_source_topic(dead_letters: tuple[Monitor, list[int]]) -> None:
    """The default output counts per reason and source topic with exact first/last seen."""
    monitor, stamps = dead_letters
    summary = run_ok(monitor)
    lines = summary.splitlines()
    assert lines[0] == f"{monitor.topic_prefix}events-dlq: 6 dead letter(s) in 2 partition(s)"
    assert lines[1] == f"first seen {iso(stamps[0])}, last seen {iso(stamps[5])}"
    assert sorted(rows(summary)) == sorted(
        [
            ["1", "invalid_json", "inventory", iso(stamps[2]), iso(stamps[2])],
            ["1", "invalid_json", "orders", iso(stamps[5]), iso(stamps[5])],
            ["1", "timestamp_without_offset", "orders", iso(stamps[3]), iso(stamps[3])],
            ["1", "unknown_field", "inventory", iso(stamps[1]), iso(stamps[1])],
            ["1", "wrong_type", "inventory", iso(stamps[0]), iso(stamps[0])],
            ["1", "wrong_type", "orders", iso(stamps[4]), iso(stamps[4])],
        ]
    )
    assert lines[-1] == (
        "by reason: invalid_json 2, timestamp_without_offset 1, unknown_field 1, wrong_type 2"
    )


def test_export_fix_and_replay_with_publish(
    dead_letters: tuple[Monitor, list[int]], tmp_path: Path
) -> None:
    """--out writes each JSON value once per line; fixed, `kpimon publish` accepts all of them."""
    monitor, _stamps = dead_letters
    out = tmp_path / "dead.jsonl"
    report = run_ok(monitor, "--out", str(out))
    assert "wrote 4 line(s)" in report
    assert "left out 2 whose value is not UTF-8 JSON (invalid_json 2)" in report
    lines = out.read_bytes().splitlines()
    expected = [value for reason, _s, _p, value in LETTERS if reason != "invalid_json"]

    def canonical(raw: bytes) -> str:
        return json.dumps(json.loads(raw), sort_keys=True)

    assert sorted(map(canonical, lines)) == sorted(map(canonical, expected))

    # As exported, the lines are still invalid: publish rejects every one and sends nothing.
    unfixed = monitor.kpimon("publish", str(out))
    assert unfixed.returncode == 1
    assert b"published 0 event(s), rejected 4" in unfixed.stdout

    fixed = tmp_path / "fixed.jsonl"
    fixed.write_bytes(b"".join(orjson.dumps(fix(json.loads(line))) + b"\n" for line in lines))
    replay = monitor.kpimon("publish", str(fixed))
    assert replay.returncode == 0, replay.stderr.decode()
    assert b"published 4 event(s), rejected 0" in replay.stdout

    consumer = KafkaConsumer(
        monitor.topic_prefix + "inventory",
        monitor.topic_prefix + "orders",
        bootstrap_servers=monitor.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=1000,
    )
    arrived: set[str] = set()

    def all_replayed() -> bool:
        arrived.update(json.loads(record.value)["event_id"] for record in consumer)
        return len(arrived) >= 4

    wait_for(all_replayed, timeout=30, what="the replayed events on their topics")
    consumer.close()
    assert arrived == {"dl-1", "dl-2", "dl-4", "dl-5"}


def test_export_with_headers_keeps_every_message(
    dead_letters: tuple[Monitor, list[int]], tmp_path: Path
) -> None:
    """--with-headers writes all six, with their headers, and the raw bytes of the non-JSON ones."""
    monitor, stamps = dead_letters
    out = tmp_path / "wrapped.jsonl"
    run_ok(monitor, "--out", str(out), "--with-headers")
    documents = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert len(documents) == len(LETTERS)
    by_offset = {document["source_offset"]: document for document in documents}
    assert sorted(by_offset) == [100 + index for index in range(len(LETTERS))]
    for index, (reason, source, partition, value) in enumerate(LETTERS):
        document = by_offset[100 + index]
        assert document["reason"] == reason
        assert document["detail"] == f"detail of {reason}"
        assert document["source_topic"] == monitor.topic_prefix + source
        assert document["source_partition"] == 0
        assert document["dlq"]["topic"] == monitor.topic_prefix + "events-dlq"
        assert document["dlq"]["partition"] == partition
        assert document["dlq"]["timestamp"] == iso(stamps[index])
        assert document["key"] == "DC-DLQ"
        if reason != "invalid_json":
            assert document["value"] == json.loads(value)
    assert by_offset[102]["value_text"] == '{"event_id": "dl-3", '
    assert by_offset[105]["value_base64"] == "//4gbm90IGV2ZW4gdGV4dA=="


def test_filters_and_since(dead_letters: tuple[Monitor, list[int]], tmp_path: Path) -> None:
    """--reason, --source-topic and --since (offset or time) narrow what is read and written."""
    monitor, stamps = dead_letters
    out = tmp_path / "wrong_type.jsonl"
    run_ok(monitor, "--reason", "wrong_type", "--out", str(out))
    assert sorted(json.loads(line)["event_id"] for line in out.read_bytes().splitlines()) == [
        "dl-1",
        "dl-5",
    ]
    orders = run_ok(monitor, "--source-topic", "orders")
    assert sum(int(row[0]) for row in rows(orders)) == 3
    # Offset 1 of both partitions skips the first record of each (dl-1 and dl-2).
    later = run_ok(monitor, "--since", "1")
    assert sum(int(row[0]) for row in rows(later)) == 4
    # From the fourth letter's time on: the last three.
    since = iso(stamps[3])
    recent = run_ok(monitor, "--since", since)
    assert f"first seen {since}, last seen {iso(stamps[5])}" in recent
    assert sum(int(row[0]) for row in rows(recent)) == 3
    nothing = run_ok(monitor, "--reason", "oversized")
    assert "no dead letters matching reason oversized" in nothing


def test_missing_topic_and_unreachable_broker_are_clear(
    dead_letters: tuple[Monitor, list[int]],
) -> None:
    """A prefix with no DLQ topic exits 2 and an unreachable broker exits 3, each in one line."""
    monitor, _stamps = dead_letters
    monitor.extra_env["KPIMON_KAFKA__TOPIC_PREFIX"] = "no-such-prefix-" + monitor.name + "."
    try:
        missing = monitor.kpimon("dead-letters")
    finally:
        del monitor.extra_env["KPIMON_KAFKA__TOPIC_PREFIX"]
    assert missing.returncode == 2
    assert b"no topic no-such-prefix-" in missing.stderr
    monitor.extra_env["KPIMON_KAFKA__BOOTSTRAP_SERVERS"] = "127.0.0.1:1"
    try:
        unreachable = monitor.kpimon("dead-letters", "--timeout", "3")
    finally:
        del monitor.extra_env["KPIMON_KAFKA__BOOTSTRAP_SERVERS"]
    assert unreachable.returncode == 3
    assert b"cannot read" in unreachable.stderr and b"Traceback" not in unreachable.stderr
