"""A consumed batch is split into store records: valid events and rejections, positions kept."""

from __future__ import annotations

import orjson

from streams.core.samples import Sample
from streams.events.decode import Rejection
from streams.events.limits import Limits
from streams.kafka.topics import TopicNames
from streams.store.snapshot import decode_snapshot, encode_snapshot
from streams.worker.messages import RawMessage, classify

SNAPSHOT = orjson.dumps(
    {
        "event_id": "e-1",
        "event_type": "inventory.snapshot",
        "occurred_at": "2026-01-01T01:00:00+01:00",
        "sku": "S",
        "location": "L",
        "on_hand": 1,
        "on_order": 0,
        "in_transit": 0,
        "unit_cost": 1,
    }
)
NOW = 1767225600.0  # 2026-01-01T00:00:00Z, the worker's clock in these tests
DISRUPTION = orjson.dumps(
    {
        "event_id": "d-1",
        "event_type": "disruption.resolved",
        "occurred_at": "2026-01-01T00:00:00Z",
        "disruption_id": "D",
    }
)


def test_classify_keeps_positions_and_labels() -> None:
    """Records carry topic (unprefixed), partition, offset, id, payload and label."""
    messages = [
        RawMessage("p.inventory", 1, 7, b"L", SNAPSHOT),
        RawMessage("p.inventory", 1, 8, b"L", b"{bad"),
        RawMessage("p.disruptions", 0, 3, b"D", DISRUPTION),
    ]
    batch = classify(messages, TopicNames("p."), Limits(max_bytes=10_000), now=NOW)
    first, second, third = batch.records
    assert (first.topic, first.partition, first.offset, first.event_id) == (
        "inventory",
        1,
        7,
        "e-1",
    )
    assert first.label == "inventory.snapshot"
    assert first.payload == SNAPSHOT
    assert (second.event_id, second.label, second.payload) == (None, "invalid_json", b"")
    assert isinstance(batch.outcomes[1], Rejection)
    assert (third.topic, third.label) == ("disruptions", "disruption.resolved")


def test_snapshot_round_trip() -> None:
    """A KPI snapshot decodes to the samples, time and event count it was encoded from."""
    samples = [Sample("inventory_value_dollars", (("location", "L"),), 12.5)]
    snapshot = decode_snapshot(encode_snapshot(1700000000.5, samples, events=42))
    assert snapshot.samples == samples
    assert (snapshot.generated_at, snapshot.events) == (1700000000.5, 42)
