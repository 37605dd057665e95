"""Bytes off the wire to a validated event, or a rejection with a reason.

Two decoders, one verdict. The fast path parses and validates a message in one
msgspec pass into the struct mirrors of `wire.py`. Anything msgspec refuses is
re-decided by `decode_event_pydantic` (pydantic-core, strict JSON mode,
discriminated on `event_type`), the contract itself: so every rejection's
reason and detail are pydantic's, and an event pydantic accepts is never lost.

Rejection reasons form a small fixed set because they become a Prometheus
label; the human detail (field path and message) goes to the dead-letter
headers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError

from streams.events import models, wire
from streams.events.duplicate_keys import first_duplicate_key, may_repeat_a_key
from streams.events.limits import DEFAULT_LIMITS, Limits, sanity_rejection
from streams.events.models import CODE_CHARACTERS, TOPIC_OF
from streams.events.rejection import Rejection

__all__ = ["REASONS", "Rejection", "decode_event", "decode_event_pydantic", "event_key"]

REASONS: tuple[str, ...] = (
    "tombstone",
    "missing_key",
    "wrong_key",
    "oversized",
    "invalid_json",
    "duplicate_key",
    "not_an_object",
    "missing_event_type",
    "unknown_event_type",
    "wrong_topic",
    "missing_field",
    "unknown_field",
    "wrong_type",
    "out_of_range",
    "invalid_code",
    "timestamp_without_offset",
    "out_of_bounds",
    "clock_skew",
    "conflicting_duplicate",
    "invalid",
)
"""Every rejection reason. `tombstone`, `missing_key` and `wrong_key` are decided by the
worker from the Kafka record (`streams.worker.messages`), `conflicting_duplicate` by the
store (an event_id seen before with another payload); the rest here."""

_EVENT = TypeAdapter(Annotated[models.Event, Field(discriminator="event_type")])

_REASON_OF_ERROR: dict[str, str] = {
    "json_invalid": "invalid_json",
    "json_type": "invalid_json",
    "model_type": "not_an_object",
    "dict_type": "not_an_object",
    "model_attributes_type": "not_an_object",
    "union_tag_not_found": "missing_event_type",
    "union_tag_invalid": "unknown_event_type",
    "missing": "missing_field",
    "extra_forbidden": "unknown_field",
    "timezone_aware": "timestamp_without_offset",
    "string_pattern_mismatch": "invalid_code",
    "greater_than": "out_of_range",
    "greater_than_equal": "out_of_range",
    "less_than": "out_of_range",
    "less_than_equal": "out_of_range",
    "finite_number": "out_of_range",
    "string_too_long": "out_of_range",
    "string_too_short": "out_of_range",
    "too_long": "out_of_range",
    "too_short": "out_of_range",
}


# Timestamps outside this band are refused (out_of_range): a year-1 or year-9999 instant
# cannot even be converted to UTC or an epoch everywhere downstream, and a far-future
# event time would push a location's watermark past every real event.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def _reason_for(error_type: str) -> str:
    if error_type in _REASON_OF_ERROR:
        return _REASON_OF_ERROR[error_type]
    if error_type.endswith(("_type", "_parsing")) or error_type in {"literal_error", "enum"}:
        return "wrong_type"
    return "invalid"


def rejection_from(error: ValidationError) -> Rejection:
    """The first error of a pydantic failure as a Rejection (`loc: message`)."""
    first = error.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in first.get("loc", ()))
    # The discriminated union puts the tag first in loc; drop it for a readable field path.
    for event_type in TOPIC_OF:
        if loc == event_type or loc.startswith(event_type + "."):
            loc = loc[len(event_type) + 1 :]
            break
    reason = _reason_for(str(first.get("type", "")))
    message = first.get("msg", "invalid")
    if reason == "invalid_code":
        message = f"a code may hold only ASCII letters, digits and {CODE_CHARACTERS[9:]!r}"
    detail = f"{loc or '<message>'}: {message}"
    return Rejection(reason, detail[:500])


def _oversized(raw: bytes, max_bytes: int) -> Rejection:
    return Rejection("oversized", f"message of {len(raw)} bytes exceeds {max_bytes}")


TOMBSTONE = Rejection("tombstone", "<message>: the record has no value (a tombstone)")


def _duplicate(key: str) -> Rejection:
    return Rejection("duplicate_key", f"{key[:100]}: the key appears twice in one object")


def _wrong_topic(event_type: str, topic: str) -> Rejection:
    expected = TOPIC_OF[event_type]
    return Rejection("wrong_topic", f"{event_type} belongs on '{expected}', not '{topic}'")


def decode_event_pydantic(
    raw: bytes | None,
    topic: str | None = None,
    max_bytes: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
    not_after: datetime | None = None,
) -> models.Event | Rejection:
    """Validate one message with the pydantic contract alone (the reference decision).

    `raw` None is a tombstone. `topic` is the unprefixed input topic it arrived on
    (None skips the topic check). Checks, in order: size (`max_bytes`, default
    `limits.max_bytes`), repeated keys, the contract, timestamps in [EARLIEST,
    LATEST) once converted to UTC, the topic, then `limits` (numbers, and
    `occurred_at` not after `not_after` unless None; see `streams.events.limits`).
    """
    if raw is None:
        return TOMBSTONE
    largest = limits.max_bytes if max_bytes is None else max_bytes
    if len(raw) > largest:
        return _oversized(raw, largest)
    repeated = first_duplicate_key(raw)
    if repeated is not None:
        return _duplicate(repeated)
    try:
        event = _EVENT.validate_json(raw, strict=True)
    except ValidationError as error:
        return rejection_from(error)
    for name, value in event:
        if isinstance(value, datetime):
            try:
                inside = EARLIEST <= value.astimezone(UTC) < LATEST
            except (OverflowError, ValueError):
                inside = False
            if not inside:
                return Rejection(
                    "out_of_range", f"{name}: timestamp outside {EARLIEST.year}..{LATEST.year}"
                )
    if topic is not None and TOPIC_OF[event.event_type] != topic:
        return _wrong_topic(event.event_type, topic)
    return sanity_rejection(event, limits, not_after) or event


_DECODE = wire.DECODER.decode
# Per struct type: its datetime fields (for the band check) and the topic it belongs on.
_CHECKS: dict[type, tuple[tuple[str, ...], str]] = {
    cls: (wire.STAMP_FIELDS[cls], TOPIC_OF[event_type]) for event_type, cls in wire.STRUCTS.items()
}


def decode_event(
    raw: bytes | None,
    topic: str | None = None,
    max_bytes: int | None = None,
    limits: Limits = DEFAULT_LIMITS,
    not_after: datetime | None = None,
) -> wire.Event | Rejection:
    """Validate one message into a wire struct (duck-typed like the pydantic models).

    `topic` is the unprefixed input topic it arrived on (None skips the topic
    check, e.g. for `kpimon publish`, which routes by type); `not_after` the latest
    `occurred_at` accepted (`limits.latest_allowed(limits, now)`, once per batch;
    None: no check, for events read back from the store). Accepts and rejects exactly
    what `decode_event_pydantic` does, with the same Rejection; only the type of
    an accepted event differs (see wire.py for a sub-microsecond caveat).
    """
    if raw is None:
        return TOMBSTONE
    largest = limits.max_bytes if max_bytes is None else max_bytes
    if len(raw) > largest:
        return _oversized(raw, largest)
    try:
        event = _DECODE(raw)
    except Exception:  # not only msgspec's errors (UnicodeDecodeError, too): pydantic decides
        return _decided_by_pydantic(raw, topic, largest, limits, not_after)
    stamps, home = _CHECKS[type(event)]
    for name in stamps:
        # Aware datetimes compare as instants, without the overflow astimezone can hit.
        # Strict at EARLIEST: msgspec rounds sub-microsecond digits where pydantic
        # truncates, so 1969-12-31T23:59:59.9999995Z arrives here as EARLIEST itself.
        if not EARLIEST < getattr(event, name) < LATEST:
            return _decided_by_pydantic(raw, topic, largest, limits, not_after)
    if may_repeat_a_key(event, raw):
        repeated = first_duplicate_key(raw)
        if repeated is not None:
            return _duplicate(repeated)
    if topic is not None and home != topic:
        return _wrong_topic(event.event_type, topic)
    return sanity_rejection(event, limits, not_after) or event


def decode_stored(raw: bytes) -> wire.Event | Rejection:
    """An event read back from our own store: validated when it was stored, so only parsed.

    The duplicate-key screen, the timestamp range and the bounds ran at ingest (with
    the limits then in force) and are not repeated: this runs for every event the
    KPI process is fed or replays. A payload the fast decoder cannot parse takes the
    full path (`decode_event`), so a contract that changed under stored data still
    comes back as a Rejection.
    """
    try:
        return _DECODE(raw)
    except Exception:
        return decode_event(raw, max_bytes=1 << 62)


def _decided_by_pydantic(
    raw: bytes, topic: str | None, max_bytes: int, limits: Limits, not_after: datetime | None
) -> wire.Event | Rejection:
    """The slow path: pydantic's verdict, an accepted model turned into its struct."""
    outcome = decode_event_pydantic(raw, topic, max_bytes, limits, not_after)
    if isinstance(outcome, Rejection):
        return outcome
    # A divergence (msgspec refused what the contract accepts): the contract wins, quietly.
    return wire.from_model(outcome)


def event_key(event: wire.Event | models.Event) -> str:
    """The Kafka message key: the location where the event has one, else its natural id."""
    location = getattr(event, "location", None)
    if location is not None:
        return str(location)
    for field in ("disruption_id", "recommendation_id", "order_id"):
        value = getattr(event, field, None)
        if value is not None:
            return str(value)
    return event.event_id
