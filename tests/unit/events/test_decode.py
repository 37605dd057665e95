"""The decoder accepts contract-conforming events and names the reason for every rejection."""

from __future__ import annotations

import orjson
import pytest

from streams.events import wire
from streams.events.decode import REASONS, Rejection, decode_event, decode_stored, event_key
from streams.events.models import MODELS

SNAPSHOT = {
    "event_id": "e-1",
    "event_type": "inventory.snapshot",
    "occurred_at": "2026-01-01T00:00:00+00:00",
    "sku": "SKU-1",
    "location": "DC-1",
    "on_hand": 5,
    "on_order": 0,
    "in_transit": 0,
    "unit_cost": 2.5,
}


def _with(**changes: object) -> bytes:
    event = dict(SNAPSHOT)
    for key, value in changes.items():
        if value is ...:
            event.pop(key)
        else:
            event[key] = value
    return orjson.dumps(event)


def test_valid_snapshot_decodes_to_its_struct() -> None:
    """A conforming snapshot becomes a wire InventorySnapshot with an aware timestamp."""
    event = decode_event(orjson.dumps(SNAPSHOT), topic="inventory")
    assert isinstance(event, wire.InventorySnapshot)
    assert event.event_type == "inventory.snapshot"
    assert event.on_hand == 5.0
    assert event.occurred_at.timestamp() == 1767225600.0


@pytest.mark.parametrize(
    ("raw", "reason", "field"),
    [
        (b"{not json", "invalid_json", "<message>"),
        (b"\xff\xfe\x00", "invalid_json", "<message>"),
        (b"[1, 2]", "not_an_object", "<message>"),
        (b'"text"', "not_an_object", "<message>"),
        (orjson.dumps({"event_id": "x"}), "missing_event_type", "<message>"),
        (_with(event_type="inventory.exploded"), "unknown_event_type", "<message>"),
        (_with(sku=...), "missing_field", "sku"),
        (_with(colour="red"), "unknown_field", "colour"),
        (_with(on_hand="5"), "wrong_type", "on_hand"),
        (_with(sku=17), "wrong_type", "sku"),
        (_with(on_hand=-1), "out_of_range", "on_hand"),
        (_with(unit_cost=1e300), "out_of_range", "unit_cost"),
        (_with(occurred_at="2026-01-01T00:00:00"), "timestamp_without_offset", "occurred_at"),
        (_with(occurred_at="yesterday"), "wrong_type", "occurred_at"),
        (_with(event_id=""), "out_of_range", "event_id"),
        (_with(event_id="x" * 129), "out_of_range", "event_id"),
        (_with(sku_class="D"), "wrong_type", "sku_class"),
    ],
)
def test_bad_input_is_rejected_with_reason_and_field(raw: bytes, reason: str, field: str) -> None:
    """Each kind of bad input maps to its reason and names the offending field."""
    outcome = decode_event(raw, topic="inventory")
    assert isinstance(outcome, Rejection)
    assert outcome.reason == reason
    assert outcome.reason in REASONS
    assert outcome.detail.startswith(field + ":"), outcome.detail


def test_nan_literal_is_rejected() -> None:
    """JSON's non-standard NaN literal never becomes a quantity."""
    raw = orjson.dumps(SNAPSHOT)[:-1] + b',"on_order":NaN}'
    outcome = decode_event(raw, topic="inventory")
    assert isinstance(outcome, Rejection)


def test_oversized_message_is_rejected_before_parsing() -> None:
    """A message over the byte limit is refused as oversized."""
    raw = b" " * 2000 + orjson.dumps(SNAPSHOT)
    outcome = decode_event(raw, max_bytes=1000)
    assert outcome == Rejection("oversized", f"message of {len(raw)} bytes exceeds 1000")


def test_event_on_the_wrong_topic_is_rejected() -> None:
    """A valid event published to another type's topic is refused as wrong_topic."""
    outcome = decode_event(orjson.dumps(SNAPSHOT), topic="orders")
    assert isinstance(outcome, Rejection)
    assert outcome.reason == "wrong_topic"


@pytest.mark.parametrize(
    ("event", "key"),
    [
        (SNAPSHOT, "DC-1"),
        (
            {
                "event_id": "d-1",
                "event_type": "disruption.resolved",
                "occurred_at": "2026-01-01T00:00:00Z",
                "disruption_id": "DIS-9",
            },
            "DIS-9",
        ),
    ],
)
def test_event_key_is_location_or_natural_id(event: dict[str, object], key: str) -> None:
    """Events are keyed by location where they have one, else by their natural id."""
    decoded = decode_event(orjson.dumps(event))
    assert not isinstance(decoded, Rejection)
    assert event_key(decoded) == key


def test_there_are_thirteen_contracts() -> None:
    """The contract covers exactly the 13 event types of the spec."""
    assert len(MODELS) == 13


def test_stored_payload_decodes_to_the_struct_ingest_made() -> None:
    """A payload read back from the store gives the same struct as at ingest."""
    raw = orjson.dumps(SNAPSHOT)
    assert decode_stored(raw) == decode_event(raw, topic="inventory")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "invalid_json"),
        (_with(sku=...), "missing_field"),
        (_with(colour="red"), "unknown_field"),
    ],
)
def test_stored_payload_the_contract_no_longer_accepts_is_a_rejection(
    raw: bytes, reason: str
) -> None:
    """A stored payload that no longer parses takes the full path and comes back rejected."""
    outcome = decode_stored(raw)
    assert isinstance(outcome, Rejection)
    assert outcome.reason == reason
