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

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from pydantic import Field, TypeAdapter, ValidationError

from streams.events import models, wire
from streams.events.models import TOPIC_OF

REASONS: tuple[str, ...] = (
    "oversized",
    "invalid_json",
    "not_an_object",
    "missing_event_type",
    "unknown_event_type",
    "wrong_topic",
    "missing_field",
    "unknown_field",
    "wrong_type",
    "out_of_range",
    "timestamp_without_offset",
    "invalid",
)

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


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a message was refused: `reason` is one of REASONS; `detail` names the field."""

    reason: str
    detail: str


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
    detail = f"{loc or '<message>'}: {first.get('msg', 'invalid')}"
    return Rejection(_reason_for(str(first.get("type", ""))), detail[:500])


def _oversized(raw: bytes, max_bytes: int) -> Rejection:
    return Rejection("oversized", f"message of {len(raw)} bytes exceeds {max_bytes}")


def _wrong_topic(event_type: str, topic: str) -> Rejection:
    expected = TOPIC_OF[event_type]
    return Rejection("wrong_topic", f"{event_type} belongs on '{expected}', not '{topic}'")


def decode_event_pydantic(
    raw: bytes, topic: str | None = None, max_bytes: int = 1_000_000
) -> models.Event | Rejection:
    """Validate one message with the pydantic contract alone (the reference decision).

    `topic` is the unprefixed input topic it arrived on (None skips the topic
    check). Timestamps must fall in [EARLIEST, LATEST) once converted to UTC.
    """
    if len(raw) > max_bytes:
        return _oversized(raw, max_bytes)
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
    return event


_DECODE = wire.DECODER.decode
# Per struct type: its datetime fields (for the band check) and the topic it belongs on.
_CHECKS: dict[type, tuple[tuple[str, ...], str]] = {
    cls: (wire.STAMP_FIELDS[cls], TOPIC_OF[event_type]) for event_type, cls in wire.STRUCTS.items()
}


def decode_event(
    raw: bytes, topic: str | None = None, max_bytes: int = 1_000_000
) -> wire.Event | Rejection:
    """Validate one message into a wire struct (duck-typed like the pydantic models).

    `topic` is the unprefixed input topic it arrived on (None skips the topic
    check, e.g. for `kpimon publish`, which routes by type). Accepts and rejects
    exactly what `decode_event_pydantic` does, with the same Rejection; only the
    type of an accepted event differs (see wire.py for a sub-microsecond caveat).
    """
    if len(raw) > max_bytes:
        return _oversized(raw, max_bytes)
    try:
        event = _DECODE(raw)
    except Exception:  # not only msgspec's errors (UnicodeDecodeError, too): pydantic decides
        return _decided_by_pydantic(raw, topic, max_bytes)
    stamps, home = _CHECKS[type(event)]
    for name in stamps:
        # Aware datetimes compare as instants, without the overflow astimezone can hit.
        # Strict at EARLIEST: msgspec rounds sub-microsecond digits where pydantic
        # truncates, so 1969-12-31T23:59:59.9999995Z arrives here as EARLIEST itself.
        if not EARLIEST < getattr(event, name) < LATEST:
            return _decided_by_pydantic(raw, topic, max_bytes)
    if topic is not None and home != topic:
        return _wrong_topic(event.event_type, topic)
    return event


def _decided_by_pydantic(raw: bytes, topic: str | None, max_bytes: int) -> wire.Event | Rejection:
    """The slow path: pydantic's verdict, an accepted model turned into its struct."""
    outcome = decode_event_pydantic(raw, topic, max_bytes)
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
