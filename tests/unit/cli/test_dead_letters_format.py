"""`kpimon dead-letters` turns dead-letter records into replayable lines and a summary."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta

import pytest

from streams.cli.dead_letters import (
    DeadLetter,
    Summary,
    parse_since,
    replay_line,
    wrapped_line,
)
from streams.cli.main import build_parser

HEADERS = {
    "reason": "wrong_type",
    "detail": "on_hand: expected a number",
    "source_topic": "p.inventory",
    "source_partition": "1",
    "source_offset": "42",
    "rejected_at": "1767225600.000",
}
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms


def letter(value: bytes | None, headers: dict[str, str] | None = None, **kw: object) -> DeadLetter:
    fields: dict[str, object] = {
        "partition": 0,
        "offset": 7,
        "timestamp_ms": T0,
        "key": b"DC-1",
        "value": value,
        "headers": dict(HEADERS if headers is None else headers),
    }
    fields.update(kw)
    return DeadLetter(**fields)  # type: ignore[arg-type]


# (case, value, the line written for replay or None when it is left out)
REPLAY = [
    (
        "compact JSON unchanged",
        b'{"event_id":"e1","on_hand":"ten"}',
        b'{"event_id":"e1","on_hand":"ten"}',
    ),
    ("pretty JSON on one line", b'{\n  "a": 1,\r\n  "b": [2]\n}\n', b'{   "a": 1,    "b": [2] }'),
    ("duplicate keys kept", b'{"a":1,"a":2}', b'{"a":1,"a":2}'),
    ("escaped newline kept", b'{"s":"x\\ny"}', b'{"s":"x\\ny"}'),
    ("non-ASCII UTF-8 kept", '{"loc":"Zürich"}'.encode(), '{"loc":"Zürich"}'.encode()),
    ("JSON array", b"[1,2]", b"[1,2]"),
    ("truncated JSON", b'{"event_id": "p1", ', None),
    ("invalid UTF-8", b'{"event_id": "\xff\xfe"}', None),
    ("empty value", b"", None),
    ("tombstone", None, None),
    ("deep nesting", b"[" * 100_000 + b"]" * 100_000, None),
]


@pytest.mark.parametrize(("case", "value", "line"), REPLAY, ids=[r[0] for r in REPLAY])
def test_replay_line(case: str, value: bytes | None, line: bytes | None) -> None:
    """The original value, on one line, when it is UTF-8 JSON; otherwise nothing."""
    assert replay_line(letter(value)) == line
    if line is not None:
        assert b"\n" not in line and json.loads(line) == json.loads(value or b"")


# (case, value, key, the value fields expected in the wrapper)
WRAPPED = [
    ("JSON value", b'{"event_id":"e1"}', b"DC-1", {"key": "DC-1", "value": {"event_id": "e1"}}),
    ("text value", b'{"event_id": ', b"DC-1", {"key": "DC-1", "value_text": '{"event_id": '}),
    ("binary value", b"\xff\x00", None, {"key": None, "value_base64": "/wA="}),
    ("binary key", b"{}", b"\xfe", {"key_base64": "/g==", "value": {}}),
    ("tombstone", None, b"DC-1", {"key": "DC-1", "tombstone": True}),
]


@pytest.mark.parametrize(("case", "value", "key", "expected"), WRAPPED, ids=[w[0] for w in WRAPPED])
def test_wrapped_line(case: str, value: bytes | None, key: bytes | None, expected: dict) -> None:
    """A wrapper object has the headers (offsets as numbers), the DLQ position, key and value."""
    line = wrapped_line(letter(value, key=key), "p.events-dlq")
    assert b"\n" not in line
    document = json.loads(line)
    assert document == {
        "reason": "wrong_type",
        "detail": "on_hand: expected a number",
        "source_topic": "p.inventory",
        "source_partition": 1,
        "source_offset": 42,
        "rejected_at": "1767225600.000",
        "dlq": {
            "topic": "p.events-dlq",
            "partition": 0,
            "offset": 7,
            "timestamp": "2026-01-01T00:00:00Z",
        },
        **expected,
    }


def test_wrapper_keeps_the_value_verbatim_and_extra_headers_apart() -> None:
    """Duplicate keys survive in the wrapper; truncation headers are named; others go apart."""
    headers = {
        **HEADERS, "truncated": "true", "sha256": "ab12", "original_size": "2048",
        "reason": "duplicate_key", "x-other": "1",
    }  # fmt: skip
    line = wrapped_line(letter(b'{"a":1,"a":2}', headers), "dlq")
    assert line.endswith(b',"value":{"a":1,"a":2}}')
    document = json.loads(line)
    assert document["headers"] == {"x-other": "1"}
    assert (document["truncated"], document["sha256"], document["original_size"]) == (
        "true", "ab12", 2048,
    )  # fmt: skip
    assert document["reason"] == "duplicate_key"


def test_wrapper_of_a_record_without_headers() -> None:
    """A record without the worker's headers still exports (position, key and value only)."""
    document = json.loads(wrapped_line(letter(b"1", {}, timestamp_ms=-1), "dlq"))
    assert document == {
        "dlq": {"topic": "dlq", "partition": 0, "offset": 7, "timestamp": None},
        "key": "DC-1",
        "value": 1,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("1200", 1200),
        ("2026-11-27T10:00:00Z", datetime(2026, 11, 27, 10, tzinfo=UTC)),
        ("2026-11-27T10:00:00+01:00", datetime(2026, 11, 27, 9, tzinfo=UTC)),
        ("2026-11-27T10:00:00", datetime(2026, 11, 27, 10, tzinfo=UTC)),
    ],
)
def test_since_offsets_and_times(text: str, expected: int | datetime) -> None:
    """--since takes an offset (digits) or an RFC 3339 time (naive = UTC)."""
    assert parse_since(text) == expected


@pytest.mark.parametrize(
    ("text", "seconds"), [("now-2h", 7200), ("-30m", 1800), ("now-7d", 604800)]
)
def test_since_relative_times(text: str, seconds: int) -> None:
    """--since now-2h is two hours before now."""
    value = parse_since(text)
    assert isinstance(value, datetime)
    expected = datetime.now(UTC) - timedelta(seconds=seconds)
    assert abs((value - expected).total_seconds()) < 5


@pytest.mark.parametrize("text", ["yesterday", "-1", "now-", "now-2x", "12:00", "1e3"])
def test_since_refuses_what_it_cannot_read(text: str) -> None:
    """Anything else is a usage error naming the accepted forms."""
    with pytest.raises(argparse.ArgumentTypeError, match=r"e\.g\.|duration"):
        parse_since(text)


def test_summary_counts_per_reason_and_source_topic_with_first_and_last_seen() -> None:
    """The summary table: count, reason, source topic, first and last seen, then per reason."""
    summary = Summary()
    for minute, reason, topic in [
        (3, "wrong_type", "inventory"),
        (1, "wrong_type", "inventory"),
        (2, "invalid_json", "orders"),
        (5, "wrong_type", "orders"),
    ]:
        at = T0 + minute * 60_000
        summary.add(letter(b"{}", {**HEADERS, "reason": reason}, timestamp_ms=at), topic)
    text = summary.render("p.events-dlq", 2, [])
    lines = text.splitlines()
    assert lines[0] == "p.events-dlq: 4 dead letter(s) in 2 partition(s)"
    assert lines[1] == "first seen 2026-01-01T00:01:00Z, last seen 2026-01-01T00:05:00Z"
    rows = [line.split() for line in lines[3:] if line.strip() and line.split()[0].isdigit()]
    assert rows == [
        ["2", "wrong_type", "inventory", "2026-01-01T00:01:00Z", "2026-01-01T00:03:00Z"],
        ["1", "invalid_json", "orders", "2026-01-01T00:02:00Z", "2026-01-01T00:02:00Z"],
        ["1", "wrong_type", "orders", "2026-01-01T00:05:00Z", "2026-01-01T00:05:00Z"],
    ]
    assert lines[-1] == "by reason: invalid_json 1, wrong_type 3"


def test_summary_of_nothing() -> None:
    """An empty (or fully filtered) read says so, with the filter."""
    text = Summary().render("p.events-dlq", 4, ["reason oversized"])
    assert text == (
        "p.events-dlq: no dead letters matching reason oversized (read 4 partition(s) to the end)"
    )


def test_command_is_registered() -> None:
    """`kpimon dead-letters` parses its options."""
    args = build_parser().parse_args(
        ["dead-letters", "--since", "5", "--reason", "a", "--reason", "b", "--out", "x.jsonl"]
    )
    assert (args.since, args.reason, args.out, args.with_headers) == (
        5,
        ["a", "b"],
        "x.jsonl",
        False,
    )
