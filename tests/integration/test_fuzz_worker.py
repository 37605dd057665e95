"""Hostile input through the real Kafka and worker: every invalid message is dead-lettered
with its reason, every valid one stored, and the worker never crashes.

2,500 messages: simulator events of every type, most of them mutated at random (seeded):
fields removed, replaced by random JSON, extreme numbers, timestamps far in the past or
future, unknown fields, huge values, unknown event types, NaN/Infinity literals, invalid
UTF-8, random bytes, oversized messages, the wrong topic. The expected outcome of each
message is the decoder's own verdict (fuzzed separately in tests/unit/events/).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from streams.events.decode import REASONS, Rejection
from streams.events.limits import Limits
from streams.events.models import TOPIC_OF
from streams.kafka.topics import TopicNames
from streams.simulate.config import SimulationConfig
from streams.simulate.generator import generate
from streams.worker.messages import Outcome, RawMessage, TooOld, classify
from tests.integration.fixtures import MonitorFactory
from tests.integration.monitor import wait_for

pytestmark = pytest.mark.integration

MESSAGES = 2500
MAX_BYTES = 30_000
TOPICS = sorted(set(TOPIC_OF.values()))
TIMESTAMPS = [
    "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59Z", "1970-01-01T00:00:00+00:00", "2026-02-30T00:00:00Z",
    "2026-01-01T00:00:00", "now", "", "2100-01-01T00:00:00+05:30", "1900-01-01T00:00:00Z",
]  # fmt: skip
NUMBERS: list[Any] = [0, -1, 1e-300, 1e12, 1e12 + 1, 1e308, -1e308, 2**63, "1", None, True]
LITERALS = [b"NaN", b"Infinity", b"-Infinity", b"1e999", b'"\xff\xfe"', b"[" * 500, b"{}"]


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(7 if depth < 4 else 4)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False, 0, -5, 3.5, 1e200])
    if kind == 2:
        return "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(12)))
    if kind == 3:
        return rng.choice(NUMBERS)
    if kind in (4, 5):
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {f"k{i}": _random_json(rng, depth + 1) for i in range(rng.randrange(4))}


def _messages(seed: int) -> list[tuple[str, bytes | None, bytes]]:
    """(unprefixed topic, key, value) of every message, seeded."""
    rng = random.Random(seed)
    config = SimulationConfig(
        seed=seed, locations=3, skus=8, start=datetime(2026, 2, 2, tzinfo=UTC), events=3000
    )
    pool = list(generate(config))
    out: list[tuple[str, bytes | None, bytes]] = []
    for index in range(MESSAGES):
        event: dict[str, Any] = dict(rng.choice(pool))
        event["event_id"] = f"fuzz-{seed}-{index}"
        topic = TOPIC_OF[event["event_type"]]
        key: bytes | None = str(event.get("location", event["event_id"])).encode()
        raw: bytes
        roll = rng.random()
        field = rng.choice(sorted(event))
        if roll < 0.25:
            raw = orjson.dumps(event)  # valid as published
        elif roll < 0.30:
            raw = orjson.dumps(event)
            key = None if rng.random() < 0.5 else bytes(rng.randrange(256) for _ in range(8))
        elif roll < 0.38:
            event.pop(field)
            raw = orjson.dumps(event)
        elif roll < 0.48:
            event[field] = _random_json(rng)
            raw = orjson.dumps(event)
        elif roll < 0.56:
            event[field] = rng.choice(NUMBERS)
            raw = orjson.dumps(event)
        elif roll < 0.66:
            event["occurred_at" if rng.random() < 0.7 else field] = rng.choice(TIMESTAMPS)
            raw = orjson.dumps(event)
        elif roll < 0.70:
            event[f"x{rng.randrange(99)}"] = 1
            raw = orjson.dumps(event)
        elif roll < 0.74:
            event[field] = "x" * rng.choice([129, 2001, 5000])
            raw = orjson.dumps(event)
        elif roll < 0.78:
            event["event_type"] = rng.choice(["order.exploded", "", "ORDER.PLACED", "x" * 300])
            raw = orjson.dumps(event)
        elif roll < 0.84:
            raw = orjson.dumps({**event, field: "@@"}).replace(b'"@@"', rng.choice(LITERALS))
        elif roll < 0.88:
            raw = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
        elif roll < 0.90:
            raw = orjson.dumps({**event, "source": "y" * 100}) + b" " * MAX_BYTES  # oversized
        elif roll < 0.94:
            raw = orjson.dumps(event)
            topic = rng.choice([t for t in TOPICS if t != topic])  # wrong topic
        elif roll < 0.97:
            raw = orjson.dumps(rng.choice([[1, 2], "text", 17, None, {"event_id": "x"}]))
        else:
            raw = orjson.dumps(event)[: rng.randrange(1, 40)]  # truncated
        out.append((topic, key, raw))
    return out


START = datetime(2026, 2, 2, tzinfo=UTC)
# The worker's dedup clock once the warm-up event is stored: the day of START. The
# simulator's events span days after it, so the horizon's cutoff stays in January:
# only mutated timestamps years old fall behind it (late), whatever the batch order.
OLDEST_DAY = int(START.timestamp() // 86400) - 30


def _verdicts(messages: list[tuple[str, bytes | None, bytes]]) -> list[Outcome]:
    """The worker's verdict on each message (contract, limits, key, horizon), computed here."""
    consumed = [RawMessage(topic, 0, n, key, raw) for n, (topic, key, raw) in enumerate(messages)]
    limits = Limits(max_bytes=MAX_BYTES)
    return classify(consumed, TopicNames(""), limits, time.time(), OLDEST_DAY).outcomes


WARM_UP = orjson.dumps(
    {
        "event_id": "fuzz-warm-up", "event_type": "inventory.snapshot",
        "occurred_at": START.isoformat(), "sku": "S-WARM", "location": "L-WARM",
        "on_hand": 1, "on_order": 0, "in_transit": 0, "unit_cost": 1,
    }
)  # fmt: skip


def test_fuzzed_messages_are_stored_or_dead_lettered_and_the_worker_survives(
    monitor_factory: MonitorFactory,
) -> None:
    messages = _messages(seed=5)
    expected_reasons: Counter[str] = Counter()
    # Idempotency is by event_id across the whole stream: the same id at two locations
    # (or on two topics) is one event. A mutation can give two messages one id with two
    # payloads: whichever is stored first, the others are conflicting duplicates.
    copies: dict[str, list[bytes]] = {}
    late = 0
    verdicts = _verdicts(messages)
    for (_topic, _key, raw), verdict in zip(messages, verdicts, strict=True):
        if isinstance(verdict, TooOld):
            late += 1
        elif isinstance(verdict, Rejection):
            assert verdict.reason in REASONS
            expected_reasons[verdict.reason] += 1
        else:
            copies.setdefault(verdict.event_id, []).append(raw)
    valid_ids = set(copies)
    for payloads in copies.values():
        # Only distinct payloads make the count independent of which copy came first.
        assert len(set(payloads)) == len(payloads), payloads
        if len(payloads) > 1:
            expected_reasons["conflicting_duplicate"] += len(payloads) - 1
    valid = len(valid_ids)
    invalid = sum(expected_reasons.values())
    assert valid > 400 and invalid > 1200, (valid, expected_reasons)
    assert len(expected_reasons) >= 8, expected_reasons

    monitor = monitor_factory({"KPIMON_KAFKA__MAX_MESSAGE_BYTES": str(MAX_BYTES)})
    producer = KafkaProducer(bootstrap_servers=monitor.kafka_bootstrap, linger_ms=20)
    producer.send(monitor.topic_prefix + "inventory", key=b"L-WARM", value=WARM_UP)
    producer.flush(timeout=60)
    monitor.wait_processed(1)  # the dedup clock is set: the horizon's cutoff is known
    for topic, key, raw in messages:
        producer.send(monitor.topic_prefix + topic, key=key, value=raw)
    producer.flush(timeout=60)
    producer.close()
    try:
        monitor.wait_processed(1 + len(messages), timeout=240)
    finally:
        worker = monitor.processes["worker"]
        assert worker.poll() is None, "worker died:\n" + monitor.log_text("worker")[-4000:]

    counters = monitor.counters()
    stored = sum(v for k, v in counters.items() if k.startswith("events_total|"))
    duplicate = sum(v for k, v in counters.items() if k.startswith("events_duplicate_total|"))
    rejected: Counter[str] = Counter()
    for name, value in counters.items():
        if name.startswith("events_invalid_total|"):
            rejected[name.split("|")[2]] += value
    assert stored == 1 + len(valid_ids)  # the warm-up event, too
    assert stored + duplicate == 1 + valid
    assert sum(v for k, v in counters.items() if k.startswith("events_late_total|")) == late
    assert rejected == expected_reasons

    consumer = KafkaConsumer(
        monitor.topic_prefix + "events-dlq",
        bootstrap_servers=monitor.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
        max_partition_fetch_bytes=1 << 22,
    )
    dead: Counter[str] = Counter()
    values: Counter[bytes] = Counter()
    conflicting: list[bytes] = []

    def drain() -> bool:
        for record in consumer:
            headers = {k: v.decode() for k, v in record.headers}
            assert headers["reason"] in REASONS and headers["detail"]
            dead[headers["reason"]] += 1
            if headers["reason"] == "conflicting_duplicate":
                conflicting.append(record.value)
            else:
                values[record.value] += 1
        return sum(dead.values()) >= invalid

    try:
        wait_for(drain, timeout=90, what=f"{invalid} dead letters")
    finally:
        consumer.close()
    assert dead == expected_reasons
    # Byte for byte: the multiset of dead-lettered payloads is that of the invalid messages.
    assert values == Counter(
        raw
        for (_topic, _key, raw), verdict in zip(messages, verdicts, strict=True)
        if isinstance(verdict, Rejection)
    )
    # Each conflict is one of the copies of its id (which one depends on what came first).
    for raw in conflicting:
        assert raw in copies[orjson.loads(raw)["event_id"]]
    # Still alive and still serving after the flood of garbage.
    assert monitor.processes["worker"].poll() is None
    monitor.wait_snapshot_of(1 + len(valid_ids), timeout=60)
