"""Hostile input fuzzing of the decoder: it never raises, every refusal names a known reason.

Thousands of hypothesis examples per property: arbitrary bytes, arbitrary JSON documents
(deep nesting, huge strings and lists, extreme numbers), NaN/Infinity literals, invalid
UTF-8, and valid events of every type with one field mutated (wrong type, removed,
unknown field added, extreme number, timestamp far in the past or future, unknown type).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import msgspec
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.events.decode import EARLIEST, LATEST, REASONS, Rejection, decode_event
from streams.events.models import MODELS, TOPIC_OF
from streams.events.wire import EventBase
from streams.simulate.config import SimulationConfig
from streams.simulate.generator import generate

FUZZ = settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MAX_BYTES = 200_000


def _samples() -> dict[str, dict[str, Any]]:
    """One valid simulator event per event type (those the simulator emits)."""
    config = SimulationConfig(
        seed=3, locations=2, skus=6, start=datetime(2026, 1, 5, tzinfo=UTC), events=4000
    )
    found: dict[str, dict[str, Any]] = {}
    for event in generate(config):
        found.setdefault(event["event_type"], event)
    return found


SAMPLES = _samples()
TYPES = sorted(SAMPLES)


def check(raw: bytes, topic: str | None = None) -> EventBase | Rejection:
    """The decoder's contract on any input: a wire struct or a Rejection with a known reason."""
    result = decode_event(raw, topic=topic, max_bytes=MAX_BYTES)
    if isinstance(result, Rejection):
        assert result.reason in REASONS, result
        assert result.detail and len(result.detail) <= 500
    else:
        assert isinstance(result, EventBase)
        assert result.event_type in TOPIC_OF
        assert result.occurred_at.tzinfo is not None
        assert len(raw) <= MAX_BYTES
        for value in msgspec.structs.astuple(result):
            if isinstance(value, datetime):  # convertible to UTC and an epoch downstream
                assert EARLIEST <= value.astimezone(UTC) < LATEST
                datetime.fromtimestamp(value.timestamp(), tz=UTC)
    return result


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=25,
)
# Not representable by orjson (or not JSON at all): spliced in as raw text.
raw_literals = st.sampled_from(
    [
        b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999", b"1" * 400, b"0x10",
        b"'single'", b'"\\ud800"', b'"\xff\xfe"', b'"\xc3\x28"', b"undefined", b"[" * 3000,
        b"{" * 3000, b'"' + b"x" * 300_000 + b'"', b"[" + b"1," * 50_000 + b"1]", b"-0",
        b"1e-400", b"true", b"null", b'"2026-01-01T00:00:00"', b'"\\u0000"',
    ]
)  # fmt: skip
timestamps = st.sampled_from(
    [
        "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00",
        "9999-12-31T23:59:59Z", "1970-01-01T00:00:00+00:00", "1900-02-29T00:00:00Z",
        "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:00+25:00",
        "2026-01-01T00:00:00", "2026-01-01", "", "now", "2026-01-01T00:00:00.1234567890123Z",
        "+10000-01-01T00:00:00Z", "2026-W01-1T00:00:00Z", "1767225600",
    ]
) | st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())  # fmt: skip
extreme_numbers = st.sampled_from(
    [0, -0.0, -1, 1e-300, 5e-324, 1e12, 1e12 + 1, 1e308, -1e308, 2**53 + 1, 2**63, -(2**63)]
)


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    check(raw)


@settings(FUZZ, max_examples=500)
@given(json_values, st.sampled_from([None, *sorted(set(TOPIC_OF.values()))]))
def test_arbitrary_json_documents_never_raise(value: Any, topic: str | None) -> None:
    check(orjson.dumps(value), topic)


@FUZZ
@given(st.sampled_from(TYPES), st.data())
def test_mutated_events_are_decoded_or_rejected_with_a_reason(event_type: str, data: Any) -> None:
    event = dict(SAMPLES[event_type])
    field = data.draw(st.sampled_from(sorted(event)), label="field")
    mutation = data.draw(
        st.sampled_from(["remove", "value", "number", "timestamp", "unknown", "huge", "type"]),
        label="mutation",
    )
    if mutation == "remove":
        event.pop(field)
    elif mutation == "value":
        event[field] = data.draw(json_values, label="value")
    elif mutation == "number":
        event[field] = data.draw(extreme_numbers, label="number")
    elif mutation == "timestamp":
        event[field] = data.draw(timestamps, label="timestamp")
    elif mutation == "unknown":
        event[data.draw(st.text(min_size=1, max_size=20), label="name")] = 1
    elif mutation == "huge":
        size = data.draw(st.sampled_from([129, 2001, 70_000]), label="size")
        event[field] = "x" * size if data.draw(st.booleans()) else [event[field]] * size
    else:
        event["event_type"] = data.draw(
            st.sampled_from(["", "order", "ORDER.PLACED", "order.placed ", "x" * 500])
            | st.text(max_size=30),
            label="event type",
        )
    result = check(orjson.dumps(event), TOPIC_OF.get(event_type))
    if mutation == "remove" and field in {"event_id", "occurred_at"}:
        assert isinstance(result, Rejection) and result.reason == "missing_field"
    if mutation == "huge" and field == "event_id":
        assert isinstance(result, Rejection)


@FUZZ
@given(st.sampled_from(TYPES), st.data())
def test_raw_literals_spliced_into_events_never_raise(event_type: str, data: Any) -> None:
    event = SAMPLES[event_type]
    field = data.draw(st.sampled_from(sorted(event)), label="field")
    literal = data.draw(raw_literals, label="literal")
    marker = "__FUZZ__"
    raw = orjson.dumps({**event, field: marker}).replace(b'"' + marker.encode() + b'"', literal)
    result = check(raw, TOPIC_OF[event_type])
    if literal in (b'"\xff\xfe"', b'"\xc3\x28"'):
        assert isinstance(result, Rejection) and result.reason == "invalid_json", result
    if literal in (b"NaN", b"Infinity", b"-Infinity"):
        # pydantic-core parses these literals; every field refuses them (no float allows inf/nan)
        assert isinstance(result, Rejection), result


@FUZZ
@given(st.binary(min_size=1, max_size=64), st.sampled_from(TYPES))
def test_invalid_utf8_is_invalid_json(garbage: bytes, event_type: str) -> None:
    try:
        garbage.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        garbage = b"\xff" + garbage
    raw = orjson.dumps({**SAMPLES[event_type], "source": "SRC"}).replace(b"SRC", garbage)
    result = check(raw, TOPIC_OF[event_type])
    assert isinstance(result, Rejection) and result.reason == "invalid_json"


def test_every_sample_is_valid_and_the_samples_cover_the_simulator() -> None:
    assert len(SAMPLES) >= 8
    for event in SAMPLES.values():
        assert not isinstance(check(orjson.dumps(event)), Rejection)


@pytest.mark.parametrize("depth", [10, 100, 1000, 10_000, 100_000])
def test_deep_nesting_never_raises(depth: int) -> None:
    for opener, closer in ((b"[", b"]"), (b'{"a":', b"}")):
        check(opener * depth + b"1" + closer * depth)
        nested = orjson.dumps({**SAMPLES[TYPES[0]], "source": "S"}).replace(
            b'"S"', opener * depth + b"1" + closer * depth
        )
        result = check(nested)
        assert isinstance(result, Rejection)


def test_oversized_is_refused_before_parsing() -> None:
    result = check(b"[" * (MAX_BYTES + 1))
    assert isinstance(result, Rejection) and result.reason == "oversized"


def test_numbers_beyond_float_are_out_of_range_or_wrong_type() -> None:
    for literal in (b"1e999", b"-1e999", b"1" * 400):
        for event_type in TYPES:
            event = SAMPLES[event_type]
            numeric = [
                k for k, v in event.items() if isinstance(v, int | float) and k != "expedited"
            ]
            for field in numeric:
                raw = orjson.dumps({**event, field: "N"}).replace(b'"N"', literal)
                result = check(raw, TOPIC_OF[event_type])
                assert isinstance(result, Rejection), (event_type, field, literal)
    assert math.isinf(float("1e999"))


def test_models_cover_every_event_type() -> None:
    assert set(MODELS) == set(TOPIC_OF)


@pytest.mark.parametrize(
    "stamp",
    [
        "0001-01-01T00:00:00+14:00",  # year 0 in UTC: crashed the worker's alert timer
        "0001-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "9999-12-31T23:59:59-14:00",  # year 10000 in UTC
        "2200-01-01T00:00:00Z",
    ],
)
def test_timestamps_far_in_the_past_or_future_are_out_of_range(stamp: str) -> None:
    for event_type in TYPES:
        event = SAMPLES[event_type]
        for field in [k for k in ("occurred_at", "promised_at", "ordered_at") if k in event]:
            result = check(orjson.dumps({**event, field: stamp}), TOPIC_OF[event_type])
            assert isinstance(result, Rejection) and result.reason == "out_of_range", result
