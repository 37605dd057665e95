"""The reference webhook receiver answers hostile requests with 400/401, never a 500.

The receiver runs for real (aiohttp on 127.0.0.1, an ephemeral port, its own event
loop in a thread) and is hit over HTTP by httpx, as a sender on the network would.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.receiver import Inbox, build_app, serve
from alerts.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER

SECRET = b"receiver-hostile-secret"


@dataclass
class Running:
    url: str
    inbox: Inbox
    client: httpx.Client


@pytest.fixture(scope="module")
def receiver() -> Iterator[Running]:
    """The receiver (echo on, as `python -m alerts.receiver` runs it) on a free port."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    inbox = Inbox()
    runner = asyncio.run_coroutine_threadsafe(
        serve(build_app(SECRET, inbox, echo=True)), loop
    ).result(timeout=10)
    port = runner.addresses[0][1]
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield Running(f"http://127.0.0.1:{port}", inbox, client)
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


def signature(timestamp: bytes, body: bytes, secret: bytes = SECRET) -> bytes:
    """`sha256=<hex>` over the raw timestamp bytes, whatever they are (as an attacker signs)."""
    return (
        b"sha256=" + hmac.new(secret, timestamp + b"." + body, hashlib.sha256).hexdigest().encode()
    )


def fresh() -> bytes:
    return str(int(time.time())).encode()


def post(
    running: Running, body: bytes, headers: list[tuple[bytes, bytes]], path: str = "/webhook"
) -> httpx.Response:
    return running.client.post(path, content=body, headers=headers)


def signed(body: bytes, timestamp: bytes | None = None) -> list[tuple[bytes, bytes]]:
    stamp = fresh() if timestamp is None else timestamp
    return [
        (TIMESTAMP_HEADER.encode(), stamp),
        (SIGNATURE_HEADER.encode(), signature(stamp, body)),
    ]


def document(*transitions: Any, version: Any = "1") -> bytes:
    return json.dumps({"version": version, "transitions": list(transitions)}).encode()


GOOD = {"id": "t-1", "status": "firing", "alertname": "InventoryStockout", "labels": {}}

# (case, body, headers or None for a fresh valid signature, expected status)
CASES: list[tuple[str, bytes, list[tuple[bytes, bytes]] | None, int]] = [
    ("signed bytes that are not JSON", b"hello", None, 400),
    ("signed invalid UTF-8", b'{"version":"1","transitions":["\xff"]}', None, 400),
    ("signed JSON array", b"[1, 2]", None, 400),
    ("signed JSON string", b'"transitions"', None, 400),
    ("signed JSON null", b"null", None, 400),
    ("transitions not a list", document().replace(b"[]", b'"x"'), None, 400),
    ("transitions of numbers", document(1, 2), None, 400),
    ("transitions of lists", document([1]), None, 400),
    ("transition without id", document({"status": "firing"}), None, 400),
    ("transition id not a string", document({"id": [1]}), None, 400),
    ("annotations not an object", document({"id": "a", "annotations": [1]}), None, 400),
    ("labels with a number value", document({"id": "a", "labels": {"x": 1}}), None, 400),
    ("status not a string", document({"id": "a", "status": 3}), None, 400),
    ("version missing", json.dumps({"transitions": []}).encode(), None, 400),
    ("version 2", document(version="2"), None, 400),
    ("NaN", b'{"version":"1","transitions":[{"id":"a","value":NaN}]}', None, 400),
    ("duplicate keys", b'{"version":"1","version":"1","transitions":[]}', None, 400),
    ("nested 100k deep", b"[" * 100_000 + b"]" * 100_000, None, 400),
    (
        "integer of 5000 digits",
        b'{"version":"1","transitions":[],"n":' + b"9" * 5000 + b"}",
        None,
        400,
    ),
    (
        "lone surrogate in a summary (echoed)",
        document({"id": "s-1", "annotations": {"summary": "\ud800"}}),
        None,
        200,
    ),
    ("a well-formed delivery", document(GOOD), None, 200),
    ("no headers", document(GOOD), [], 401),
    ("timestamp only", document(GOOD), [(b"X-Kpimon-Timestamp", b"1")], 401),
    ("signature only", document(GOOD), [(b"X-Kpimon-Signature", b"sha256=" + b"0" * 64)], 401),
    (
        "empty headers",
        document(GOOD),
        [(b"X-Kpimon-Timestamp", b""), (b"X-Kpimon-Signature", b"")],
        401,
    ),
    ("huge timestamp, validly signed", document(GOOD), signed(document(GOOD), b"9" * 400), 401),
    ("negative timestamp, validly signed", document(GOOD), signed(document(GOOD), b"-1"), 401),
    ("Arabic-Indic digits timestamp", document(GOOD), signed(document(GOOD), "١٢٣".encode()), 401),
    ("timestamp 1_700_000_000", document(GOOD), signed(document(GOOD), b"1_700_000_000"), 401),
    (
        "signature of other scheme",
        document(GOOD),
        [(b"X-Kpimon-Timestamp", fresh()), (b"X-Kpimon-Signature", b"sha1=abc")],
        401,
    ),
    (
        "signature with non-ASCII bytes",
        document(GOOD),
        [(b"X-Kpimon-Timestamp", fresh()), (b"X-Kpimon-Signature", b"sha256=\xff\xfe")],
        401,
    ),
    (
        "signature not hex",
        document(GOOD),
        [(b"X-Kpimon-Timestamp", fresh()), (b"X-Kpimon-Signature", b"sha256=" + b"z" * 64)],
        401,
    ),
    (
        "signature by another secret",
        document(GOOD),
        [
            (b"X-Kpimon-Timestamp", fresh()),
            (b"X-Kpimon-Signature", signature(fresh(), document(GOOD), b"other")),
        ],
        401,
    ),
    ("stale timestamp", document(GOOD), signed(document(GOOD), b"1000000000"), 401),
]


@pytest.mark.parametrize(
    ("case", "body", "headers", "status"), CASES, ids=[case[0] for case in CASES]
)
def test_malformed_or_unsigned_requests_get_400_or_401(
    receiver: Running,
    case: str,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None,
    status: int,
) -> None:
    """Each hostile request gets its 4xx (400 malformed, 401 signature) as JSON, never a 500."""
    before = len(receiver.inbox.transitions)
    response = post(receiver, body, signed(body) if headers is None else headers)
    assert response.status_code == status, f"{case}: {response.text[:200]}"
    assert isinstance(response.json(), dict)
    if status != 200:
        assert len(receiver.inbox.transitions) == before, f"{case}: something was recorded"


ALERTMANAGER_BODIES = [b"[1]", b'"x"', b"1", b"null", b"\xff", b'{"alerts": 5}', b"[" * 50_000]


@pytest.mark.parametrize("body", ALERTMANAGER_BODIES)
def test_alertmanager_route_refuses_non_objects_with_400(receiver: Running, body: bytes) -> None:
    """A body on /alerts that is not an Alertmanager webhook object is a 400, not a 500."""
    response = post(receiver, body, [(b"Content-Type", b"application/json")], "/alerts/pager")
    assert response.status_code == 400


# Arbitrary JSON values, and webhook-shaped documents built from them.
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
strings = st.dictionaries(st.text(max_size=6), st.text(max_size=8), max_size=3)
well_formed_transitions = st.fixed_dictionaries(
    {"id": st.text(min_size=1, max_size=16)},
    optional={
        "status": st.sampled_from(["firing", "resolved"]),
        "alertname": st.text(max_size=10),
        "labels": strings,
        "annotations": strings,
        "value": json_values,
    },
)
loose_transitions = st.fixed_dictionaries(
    {"id": json_values},
    optional={"status": json_values, "labels": json_values, "annotations": json_values},
)
loose_documents = st.fixed_dictionaries(
    {},
    optional={
        "version": st.sampled_from(["1", 1, "2", None]) | json_values,
        "transitions": st.lists(loose_transitions | json_values, max_size=3) | json_values,
    },
)


def encodings(value: Any) -> st.SearchStrategy[bytes]:
    """The JSON text of `value`: escaped ASCII, or raw UTF-8 (invalid when it has surrogates)."""
    return st.sampled_from(
        [
            json.dumps(value).encode(),
            json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass"),
        ]
    )


hostile_bodies = st.one_of(
    (json_values | loose_documents).flatmap(encodings),
    st.binary(max_size=64),
    st.integers(min_value=1, max_value=200_000).map(lambda n: b"[" * n + b"]" * n),
    st.sampled_from([b"NaN", b"[Infinity]", b'{"a":1,"a":2}', b"", b"{", b"\xef\xbb\xbf{}"]),
)


def sendable(value: bytes) -> bool:
    """A header value HTTP/1.1 can carry (h11 refuses control bytes and outer whitespace)."""
    return value == value.strip(b" \t") and not any(b < 0x20 or b == 0x7F for b in value)


header_values = st.one_of(
    st.binary(max_size=80).filter(sendable),
    st.text(alphabet="0123456789-_+١٢٣", max_size=20).map(str.encode),
    st.just(b"sha256=" + b"a" * 64),
)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(body=hostile_bodies)
def test_any_validly_signed_body_is_accepted_or_refused_with_400(
    receiver: Running, body: bytes
) -> None:
    """Whatever bytes are validly signed, the answer is 200 (recorded) or 400 (nothing recorded)."""
    before = len(receiver.inbox.transitions)
    response = post(receiver, body, signed(body))
    assert response.status_code in (200, 400), response.text[:300]
    assert isinstance(response.json(), dict)
    if response.status_code == 400:
        assert len(receiver.inbox.transitions) == before
    else:
        accepted = response.json()["accepted"]
        assert len(receiver.inbox.transitions) == before + accepted


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transitions=st.lists(well_formed_transitions, max_size=4))
def test_well_formed_documents_are_accepted(
    receiver: Running, transitions: list[dict[str, Any]]
) -> None:
    """A signed document of well-formed transitions is always a 200 (the 400s are not overbroad)."""
    body = json.dumps({"version": "1", "transitions": transitions}).encode()
    response = post(receiver, body, signed(body))
    assert response.status_code == 200, response.text[:300]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    timestamp=st.none() | header_values,
    sig=st.none() | header_values,
    body=st.sampled_from([document(GOOD), b"not json", b"[]"]),
)
def test_bad_or_missing_signature_headers_get_401(
    receiver: Running, timestamp: bytes | None, sig: bytes | None, body: bytes
) -> None:
    """Missing, malformed or forged signature headers are a 401, before the body is read."""
    headers = [(TIMESTAMP_HEADER.encode(), v) for v in [timestamp] if v is not None]
    headers += [(SIGNATURE_HEADER.encode(), v) for v in [sig] if v is not None]
    before = len(receiver.inbox.transitions)
    response = post(receiver, body, headers)
    assert response.status_code == 401, response.text[:300]
    assert len(receiver.inbox.transitions) == before
