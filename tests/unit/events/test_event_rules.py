"""The rules of SPEC §3 as amended: each refusal has its reason, in both decoders alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.events.decode import REASONS, Rejection, decode_event, decode_event_pydantic
from streams.events.duplicate_keys import first_duplicate_key, may_repeat_a_key
from streams.events.limits import Limits, latest_allowed
from streams.events.wire import DECODER

NOW = datetime(2026, 3, 1, tzinfo=UTC)
NOT_AFTER = latest_allowed(Limits(), NOW.timestamp())  # 15 minutes ahead of NOW

SNAPSHOT: dict[str, Any] = {
    "event_id": "e-1", "event_type": "inventory.snapshot", "occurred_at": "2026-03-01T00:00:00Z",
    "sku": "SKU-1", "location": "DC-1", "on_hand": 5, "on_order": 0, "in_transit": 0,
    "unit_cost": 2.5,
}  # fmt: skip
ORDER: dict[str, Any] = {
    "event_id": "o-1", "event_type": "order.placed", "occurred_at": "2026-03-01T00:00:00Z",
    "order_id": "o-1", "location": "DC-1", "customer_id": "c", "customer_tier": "key",
    "channel": "web", "region": "north", "promised_at": "2026-03-02T00:00:00Z",
    "lines": [{"line_id": "1", "sku": "S", "quantity": 2, "unit_price": 3.0}],
}  # fmt: skip
POLICY: dict[str, Any] = {
    "event_id": "p-1", "event_type": "policy.applied", "occurred_at": "2026-03-01T00:00:00Z",
    "sku": "S", "location": "DC-1", "policy": {"safety_stock": 1, "reorder_point": 2},
}  # fmt: skip


DEFAULT = Limits()


def decide(raw: bytes | None, limits: Limits = DEFAULT) -> Any:
    """Both decoders' verdict, which must be equal (the struct and the model compare as dicts)."""
    fast = decode_event(raw, limits=limits, not_after=NOT_AFTER)
    slow = decode_event_pydantic(raw, limits=limits, not_after=NOT_AFTER)
    if isinstance(slow, Rejection):
        assert fast == slow, raw
    else:
        assert not isinstance(fast, Rejection), (fast, raw)
    return fast


def with_(event: dict[str, Any], **changes: Any) -> bytes:
    return orjson.dumps({**event, **changes})


@pytest.mark.parametrize(
    ("raw", "reason", "detail"),
    [
        # a record with no value (a tombstone)
        (None, "tombstone", "<message>: the record has no value (a tombstone)"),
        # clock skew: 15 minutes ahead is fine, 15 minutes and one second is not
        (with_(SNAPSHOT, occurred_at="2026-03-01T00:15:01Z"), "clock_skew", "occurred_at: 901 s"),
        # numbers: subnormal, dust, over the quantity bound, over the amount bound
        (with_(SNAPSHOT, on_hand=5e-324), "out_of_bounds", "on_hand: 5e-324 is non-zero"),
        (with_(SNAPSHOT, in_transit=9e-7), "out_of_bounds", "in_transit: 9e-07 is non-zero"),
        (with_(SNAPSHOT, on_order=1.5e9), "out_of_bounds", "on_order: 1500000000.0 is over 1e+09"),
        (with_(SNAPSHOT, unit_cost=2e9), "out_of_bounds", "unit_cost: 2000000000.0 is over"),
        (
            with_(ORDER, lines=[{"line_id": "1", "sku": "S", "quantity": 1, "unit_price": 1e-7}]),
            "out_of_bounds",
            "lines.0.unit_price: 1e-07",
        ),
        (
            with_(POLICY, policy={"safety_stock": 1, "reorder_point": 2, "order_up_to": 2e9}),
            "out_of_bounds",
            "policy.order_up_to: 2000000000.0 is over",
        ),
        # repeated keys, at the top or nested
        (with_(SNAPSHOT)[:-1] + b',"on_hand":7}', "duplicate_key", "on_hand: the key appears"),
        (
            with_(ORDER).replace(b'"line_id":"1",', b'"line_id":"1","sku":"T",'),
            "duplicate_key",
            "sku: the key appears",
        ),
        # codes outside letters, digits and ._:/-
        (with_(SNAPSHOT, location="DC 1"), "invalid_code", "location: a code may hold"),
        (with_(SNAPSHOT, location="DC-1\n"), "invalid_code", "location:"),
        (with_(SNAPSHOT, location="DC\u200b1"), "invalid_code", "location:"),
        (with_(SNAPSHOT, location="\u202eDC1"), "invalid_code", "location:"),
        (with_(SNAPSHOT, sku=" "), "invalid_code", "sku:"),
        (with_(SNAPSHOT, sku="S\x00"), "invalid_code", "sku:"),
        (with_(ORDER, region="nörth"), "invalid_code", "region:"),
        (
            with_(ORDER, lines=[{"line_id": "1", "sku": "S 2", "quantity": 1, "unit_price": 1}]),
            "invalid_code",
            "lines.0.sku:",
        ),
    ],
)
def test_each_rule_refuses_with_its_reason(raw: bytes | None, reason: str, detail: str) -> None:
    """Every amended rule maps to its own dead-letter reason and names the field."""
    outcome = decide(raw)
    assert isinstance(outcome, Rejection)
    assert (outcome.reason, outcome.detail[: len(detail)]) == (reason, detail)
    assert reason in REASONS


@pytest.mark.parametrize(
    "raw",
    [
        with_(SNAPSHOT, occurred_at="2026-03-01T00:15:00Z"),  # exactly the allowed skew
        with_(SNAPSHOT, occurred_at="2026-03-01T01:15:00+01:00"),  # the same instant
        with_(SNAPSHOT, on_hand=0, unit_cost=0),  # zero is never dust
        with_(SNAPSHOT, on_hand=1e-6, unit_cost=1e9, on_order=1e9),  # at the bounds
        with_(SNAPSHOT, location="DC/1", sku="a.b:c-d_E9"),  # every allowed character
        with_(SNAPSHOT, source=None, sku_class=None),  # optional fields sent at their default
        with_(ORDER, lines=[{"line_id": "1", "sku": "S", "quantity": 1e9, "unit_price": 0}]),
    ],
)
def test_values_inside_every_bound_are_accepted(raw: bytes) -> None:
    """The bounds are inclusive, zero is fine, and the code set is exactly what it says."""
    assert not isinstance(decide(raw), Rejection)


def test_bounds_are_settings() -> None:
    """A tighter bound refuses what the default accepts, with the setting named."""
    raw = with_(SNAPSHOT, on_hand=500)
    assert not isinstance(decide(raw), Rejection)
    tight = decide(raw, Limits(max_quantity=100))
    assert isinstance(tight, Rejection) and "KPIMON_EVENTS__MAX_QUANTITY" in tight.detail


def test_without_a_clock_no_skew_is_checked() -> None:
    """Events read back from the store (not_after None) are not judged by today's clock."""
    raw = with_(SNAPSHOT, occurred_at="2030-01-01T00:00:00Z")
    assert not isinstance(decode_event(raw), Rejection)
    assert not isinstance(decode_event_pydantic(raw), Rejection)


@pytest.mark.parametrize(
    ("raw", "repeated"),
    [
        (b'{"a":1,"b":2}', None),
        (b'{"a":1,"a":2}', "a"),
        (b'{"a":{"b":1,"b":1}}', "b"),
        (b'[{"x":1},{"x":2}]', None),  # the same key in two objects is fine
        (b'{"a":1,"\\u0061":2}', "a"),  # the same key spelt with an escape
        (b'{"a":NaN,"a":1}', None),  # not JSON: the contract says why
        (b"{not json", None),
    ],
)
def test_the_exact_check_finds_a_repeated_key_at_any_depth(
    raw: bytes, repeated: str | None
) -> None:
    """first_duplicate_key parses every key, escapes resolved; non-JSON is not its verdict."""
    assert first_duplicate_key(raw) == repeated


@pytest.mark.parametrize(
    ("raw", "doubt"),
    [
        (with_(SNAPSHOT), False),
        (with_(SNAPSHOT, sku_class="A", supplier_id="SUP-1"), False),
        (with_(SNAPSHOT, source=None), False),  # an optional key sent at its default
        (with_(ORDER), False),
        (with_(POLICY, recommendation_id="r"), False),
        (with_(SNAPSHOT, source='say "hi"'), True),  # escaped quotes
        (with_(SNAPSHOT).replace(b'"sku":', b'"sku" :'), False),  # still exact: quotes only
        (with_(POLICY, policy={"safety_stock": 1, "reorder_point": 2, "order_up_to": None}), True),
    ],
)
def test_the_quote_count_screen_is_sure_or_defers(raw: bytes, doubt: bool) -> None:
    """The fast screen clears ordinary messages and defers anything it cannot prove."""
    event = DECODER.decode(raw)
    assert may_repeat_a_key(event, raw) is doubt


KEYS = ["event_id", "occurred_at", "sku", "location", "on_hand", "unit_cost", "source", "x"]
values = st.one_of(
    st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False), st.none(),
    st.text(max_size=4), st.sampled_from(["2026-03-01T00:00:00Z", "DC-1", 'q"', "\\"]),
)  # fmt: skip


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    base=st.sampled_from([SNAPSHOT, ORDER, POLICY]),
    extra=st.lists(st.tuples(st.sampled_from(KEYS), values), max_size=4),
    at=st.integers(0, 12),
    spacing=st.sampled_from([b":", b" :", b": ", b":\n"]),
)
def test_both_decoders_agree_on_repeated_keys_and_bounds(
    base: dict[str, Any], extra: list[tuple[str, Any]], at: int, spacing: bytes
) -> None:
    """Keys repeated anywhere (spelt any way), values at any bound: one verdict from both."""
    body = orjson.dumps(base)[1:-1].split(b',"')
    pieces = [body[0], *(b'"' + piece for piece in body[1:])]
    for key, value in extra:
        pieces.insert(min(at, len(pieces)), orjson.dumps(key) + spacing + orjson.dumps(value))
    raw = b"{" + b",".join(pieces) + b"}"
    outcome = decide(raw)
    repeated = first_duplicate_key(raw)
    if repeated is not None:
        assert outcome == Rejection(
            "duplicate_key", f"{repeated}: the key appears twice in one object"
        )


@settings(max_examples=500, deadline=None)
@given(
    seconds=st.integers(-(10**6), 10**6),
    quantity=st.one_of(st.floats(min_value=0, max_value=1e12), st.sampled_from([5e-324, 1e-6])),
)
def test_both_decoders_agree_on_the_clock_and_numbers(seconds: int, quantity: float) -> None:
    """Any offset from the clock and any contract-valid number: the same verdict from both."""
    when = (NOW + timedelta(seconds=seconds)).isoformat()
    decide(with_(SNAPSHOT, occurred_at=when, on_hand=quantity))
