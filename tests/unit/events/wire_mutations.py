"""Hypothesis strategies that break valid events the ways producers do, and worse.

Field level: a field (or a nested line or policy field) dropped, an unknown one
added, a value of another JSON type, numbers out of range or beyond float, strings
empty or too long, timestamps in many RFC 3339 near-misses and other formats,
another or an invalid event_type, lists empty or too long. Byte level: duplicate
keys, non-object documents, invalid UTF-8, trailing garbage.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import orjson
from hypothesis import strategies as st

from streams.events import wire
from streams.events.models import INPUT_TOPICS, MAX_LINES, MODELS, TOPIC_OF

MARK = "__RAW__"  # a placeholder value, replaced by a raw literal orjson cannot write
STAMPS = {name for names in wire.STAMP_FIELDS.values() for name in names}

EDGE_STAMPS = [
    "1969-12-31T23:59:59.9999995Z", "1969-12-31T23:59:59.999999Z", "1970-01-01T00:00:00Z",
    "1970-01-01T00:00:00.0000001Z", "1970-01-01T00:59:59.9999999+01:00",
    "1970-01-01T01:00:00+01:00", "2199-12-31T23:59:59.9999999Z", "2199-12-31T23:59:59.999999Z",
    "2200-01-01T00:00:00Z", "2200-01-01T05:29:59+05:30", "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00", "2016-12-31T23:59:60Z", "2024-02-29T00:00:00Z", "1767225600",
]  # fmt: skip
NUMBERS = [
    b"0", b"-0", b"-0.0", b"-1", b"0.5", b"1e12", b"1000000000001", b"1e12000", b"1e400",
    b"-1e400", b"1e-400", b"5e-324", b"3650.0000001", b"9223372036854775808",
    b"18446744073709551616", b"1" * 40, b"NaN", b"Infinity", b"-Infinity",
    b"1.7976931348623157e308", b"0.1e1", b"1E2", b"01", b"1.", b".5", b"+1",
]  # fmt: skip
OTHER_TYPES = [0, 1, -1, 1.5, True, False, "", "5", "x", None, [], {}, [1], {"a": 1}]
OFFSETS = ["", "Z", "z", "+00:00", "-00:00", "+05:30", "+0530", "+05", "-12:00", "+14:00"]
OFFSETS += ["+23:59", "+24:00", "+05:30:00", " +01:00", "UTC"]
strings = st.sampled_from([0, 1, 63, 64, 65, 128, 129, 2000, 2001]).flatmap(
    lambda n: st.sampled_from(["x" * n, "é" * n, "\U0001f600" * n])
) | st.text(max_size=70)


@st.composite
def timestamps(draw: st.DrawFn) -> bytes:
    """A JSON value for a timestamp: RFC 3339, its near misses, other ISO forms, numbers."""
    kind = draw(st.sampled_from(["parts", "parts", "edge", "aware", "aware", "number"]))
    if kind == "number":
        number = st.integers(-(2**40), 2**40) | st.floats(allow_nan=False, allow_infinity=False)
        return orjson.dumps(draw(number))
    if kind == "edge":
        return orjson.dumps(draw(st.sampled_from(EDGE_STAMPS)))
    if kind == "aware":  # mostly valid, some naive, around the 1970..2200 band
        low, high = datetime(1960, 1, 1), datetime(2210, 1, 1)
        moment = st.datetimes(low, high, timezones=st.timezones() | st.none())
        return orjson.dumps(draw(moment).isoformat())
    year = draw(st.sampled_from(["0001", "1969", "1970", "2026", "2199", "2200", "9999"]))
    month = draw(st.sampled_from(["01", "02", "12", "13", "00"]))
    text = f"{year}-{month}-{draw(st.sampled_from(['01', '28', '29', '31', '32']))}"
    if draw(st.integers(0, 9)) == 0:
        return orjson.dumps(text + draw(st.sampled_from(["", "Z"])))  # date only
    text += draw(st.sampled_from("Tt _")) + draw(st.sampled_from(["00", "12", "23", "24"]))
    text += ":" + draw(st.sampled_from(["00", "59", "60"]))
    if draw(st.integers(0, 5)):  # seconds, usually
        text += ":" + draw(st.sampled_from(["00", "59", "60"]))
        if draw(st.booleans()):  # fractional seconds of 0..10 digits
            text += draw(st.sampled_from(".,")) + draw(st.text("0123456789", max_size=10))
    return orjson.dumps(text + draw(st.sampled_from(OFFSETS)))


def _dicts(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The event and its nested objects (lines, policy)."""
    nested = [v for v in event.values() if isinstance(v, dict)]
    nested += [x for v in event.values() if isinstance(v, list) for x in v if isinstance(x, dict)]
    return [event, *nested]


KINDS = ("drop", "unknown", "type", "number", "string", "stamp", "tag")
BOUNDS = ("number", "string", "stamp")  # values of the right JSON type, in range or not


def _mutate(draw: st.DrawFn, event: dict[str, Any], kinds: tuple[str, ...]) -> bytes | None:
    """Change one field (or nested line field) in place; a raw literal to splice at MARK."""
    target = draw(st.sampled_from(_dicts(event)))
    kind = draw(st.sampled_from(kinds))
    # Numbers and strings go mostly where a number or string is, to probe bounds, not types.
    like = {"number": (int, float), "string": str}.get(kind, object)
    fitting = [k for k, v in target.items() if isinstance(v, like) and not isinstance(v, bool)]
    keys = fitting if fitting and draw(st.integers(0, 4)) else sorted(target)
    key = draw(st.sampled_from(sorted(keys) or ["event_id"]))  # {} once a value was retyped
    if kind == "drop":
        target.pop(key, None)  # the fallback key may be absent
    elif kind == "unknown":
        target[draw(st.sampled_from(["colour", "Sku", "", "event_type "]) | st.text())] = 1
    elif kind == "type":
        target[key] = copy.deepcopy(draw(st.sampled_from(OTHER_TYPES)))  # never the shared one
    elif kind == "string":
        target[key] = draw(strings)
    elif kind == "tag":
        other = st.sampled_from(["", "ORDER.PLACED", "order.placed ", "order", None, 5])
        event["event_type"] = draw(st.sampled_from(sorted(MODELS)) | other)
    elif kind == "stamp":
        event[draw(st.sampled_from(sorted(STAMPS & set(event)) or ["occurred_at"]))] = MARK
        return draw(timestamps())
    else:
        target[key] = MARK
        inside = st.floats(-1.1e12, 1.1e12) | st.integers(-(2**63), 2**64 - 1)
        return draw(st.sampled_from(NUMBERS) | inside.map(orjson.dumps))
    return None


def splice(event: dict[str, Any], literal: bytes | None) -> bytes:
    raw = orjson.dumps(event)
    return raw if literal is None else raw.replace(orjson.dumps(MARK), literal, 1)


@st.composite
def mutated(
    draw: st.DrawFn, samples: list[dict[str, Any]], kinds: tuple[str, ...] = KINDS
) -> tuple[bytes, str | None]:
    """One of `samples` with one or two field mutations of `kinds`, and with all kinds
    maybe a list replaced or the message broken at the byte level.

    Returns the message and the topic to decode it for (its own, another or None).
    """
    whole = kinds == KINDS
    event = copy.deepcopy(draw(st.sampled_from(samples)))
    topic = draw(st.sampled_from([TOPIC_OF[event["event_type"]], None, *INPUT_TOPICS]))
    lists = [k for k, v in event.items() if isinstance(v, list)]
    if (
        whole and lists and draw(st.integers(0, 5)) == 0
    ):  # a list too short, too long or of wrong items
        key = draw(st.sampled_from(lists))
        items = event[key]
        event[key] = draw(st.sampled_from([[], items * (MAX_LINES + 1), [5], [None], items[:1]]))
    literal = _mutate(draw, event, kinds)
    if literal is None and draw(st.integers(0, 3)) == 0:  # a second one (one literal at most)
        literal = _mutate(draw, event, kinds)
    raw = splice(event, literal)
    breaks = ["none"] * 6 + ["dup", "dup", "shape", "utf8", "trailing"] if whole else ["none"]
    kind = draw(st.sampled_from(breaks))
    if kind == "dup":  # a key repeated before or after, with its own or another value
        key = draw(st.sampled_from(sorted(event) or ["event_type"]))
        value = orjson.dumps(draw(st.sampled_from([event.get(key), *OTHER_TYPES])))
        pair = orjson.dumps(key) + b":" + value
        raw = b"{" + pair + b"," + raw[1:] if draw(st.booleans()) else raw[:-1] + b"," + pair + b"}"
    elif kind == "shape":
        raw = draw(
            st.sampled_from([b"[]", b"[1, 2]", b'"text"', b"17", b"null", b"[" + raw + b"]"])
        )
    elif kind == "utf8" and isinstance(event.get("event_id"), str):
        garbage = draw(
            st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xc0\xaf", b"\xe2\x82"])
        )
        raw = raw.replace(orjson.dumps(event["event_id"]), b'"' + garbage + b'"', 1)
    elif kind == "trailing":
        raw += draw(st.sampled_from([b"x", b"}", b",", b" {}", b"\x00", b"  \n", b"\n{}"]))
    return raw, topic
