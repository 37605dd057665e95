"""A consumed batch is split into store records: valid events and rejections, positions kept."""

from __future__ import annotations

import orjson
import pytest

from streams.core.samples import Sample
from streams.events.decode import Rejection
from streams.events.limits import Limits
from streams.kafka.topics import TopicNames
from streams.store.records import LATE
from streams.store.snapshot import SnapshotEncoder, decode_snapshot, encode_snapshot
from streams.worker.messages import RawMessage, TooOld, classify

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


@pytest.mark.parametrize(
    ("oldest_day", "late"),
    [(None, False), (20454, False), (20455, True)],  # SNAPSHOT is of day 20454 (2026-01-01)
)
def test_an_event_before_the_dedup_horizon_is_too_old(oldest_day: int | None, late: bool) -> None:
    """An event of a day before the oldest one deduplicated is counted late, never stored."""
    batch = classify(
        [RawMessage("p.inventory", 0, 1, b"L", SNAPSHOT)],
        TopicNames("p."),
        Limits(),
        now=NOW,
        oldest_day=oldest_day,
    )
    (record,), (outcome,) = batch.records, batch.outcomes
    assert isinstance(outcome, TooOld) is late
    assert (record.event_id is None, record.label) == (
        (True, LATE) if late else (False, "inventory.snapshot")
    )
    if not late:
        assert record.day == 20454


@pytest.mark.parametrize("cut", [0, 1, 2, 3])
def test_a_snapshot_encoded_a_part_at_a_time_is_the_same_bytes(cut: int) -> None:
    """Parts appended one after the other encode exactly as the whole; non-finite values go."""
    samples = [
        Sample("inventory_value_dollars", (("location", "L"),), 12.5),
        Sample("inventory_value_dollars", (("location", "M"),), float("inf")),
        Sample("inventory_sku_locations", (("location", "M"),), 3.0),
    ]
    whole = encode_snapshot(5.0, samples, 3, {"L": 1, "M": 2}, 4, {"orders": 1})
    encoder = SnapshotEncoder(5.0, 3, {"L": 1, "M": 2}, 4, {"orders": 1})
    encoder.add(samples[:cut])
    encoder.add(samples[cut:])
    assert encoder.finish() == whole
    decoded = decode_snapshot(whole)
    assert [s.value for s in decoded.samples] == [12.5, 3.0]
    assert (decoded.locations, decoded.late) == (4, {"orders": 1})
