"""Consumed messages and their classification (pure: no Kafka, no Redis)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol, cast

from streams.events.decode import Rejection, decode_event
from streams.events.limits import Limits, latest_allowed
from streams.events.wire import Event
from streams.kafka.topics import TopicNames
from streams.store.records import MessageRecord, payload_digest


class Consumed(Protocol):
    """A Kafka message as consumed: full topic name, position, key and value bytes.

    aiokafka's `ConsumerRecord` has this shape, so the bulk path hands the records
    over as they are fetched; `RawMessage` is the same as a plain tuple.
    """

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


class RawMessage(NamedTuple):
    """A `Consumed` message built by hand (faust's agent path, tests)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Classified:
    """A batch split into store records, with the decoded event or rejection of each."""

    records: list[MessageRecord]
    outcomes: list[Event | Rejection]


MISSING_KEY = Rejection("missing_key", "<record>: no key; events with a location are keyed by it")


def _key_rejection(event: Event, key: bytes | None) -> Rejection | None:
    """SPEC §3: an event with a location is keyed by it (its partition, so its one writer).

    Events without one (disruptions) may carry any key or none.
    """
    location = getattr(event, "location", None)
    if location is None:
        return None
    if not key:
        return MISSING_KEY
    if key != location.encode():
        shown = key[:64].decode("utf-8", "replace")
        return Rejection("wrong_key", f"<record>: key {shown!r} is not the location {location!r}")
    return None


def classify(
    messages: Sequence[Consumed], names: TopicNames, limits: Limits, now: float
) -> Classified:
    """Validate every message of a batch against the contract of the topic it came from.

    `now` is the worker's clock (epoch seconds): an `occurred_at` more than the
    allowed skew ahead of it is refused (`clock_skew`). After the contract, the
    record's key is checked against the event (`missing_key`, `wrong_key`).
    """
    records: list[MessageRecord] = []
    outcomes: list[Event | Rejection] = []
    short_of: dict[str, str] = {}  # full topic -> unprefixed, once per topic not per message
    not_after = latest_allowed(limits, now)
    for message in messages:
        full = message.topic
        topic = short_of.get(full)
        if topic is None:
            topic = short_of[full] = names.short(full)
        outcome = decode_event(message.value, topic=topic, limits=limits, not_after=not_after)
        if not isinstance(outcome, Rejection):
            outcome = _key_rejection(outcome, message.key) or outcome
        outcomes.append(outcome)
        if isinstance(outcome, Rejection):
            record = MessageRecord(
                topic, message.partition, message.offset, None, b"", outcome.reason
            )
        else:
            payload = cast(bytes, message.value)  # accepted: not a tombstone
            record = MessageRecord(
                topic,
                message.partition,
                message.offset,
                outcome.event_id,
                payload,
                outcome.event_type,
                payload_digest(payload),
            )
        records.append(record)
    return Classified(records, outcomes)
