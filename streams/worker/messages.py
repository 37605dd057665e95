"""Consumed messages and their classification (pure: no Kafka, no Redis)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple, Protocol, cast

from streams.events.decode import Rejection, decode_event
from streams.events.limits import Limits, latest_allowed
from streams.events.wire import Event
from streams.kafka.topics import TopicNames
from streams.store.records import LATE, MessageRecord, payload_digest


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
    outcomes: list[Event | Rejection | TooOld]


MISSING_KEY = Rejection("missing_key", "<record>: no key; events with a location are keyed by it")


@functools.lru_cache(maxsize=65536)
def _encoded(location: str) -> bytes:
    """A location code as its key bytes (few distinct codes, each seen often)."""
    return location.encode()


def _key_rejection(event: Event, key: bytes | None) -> Rejection | None:
    """SPEC §3: an event with a location is keyed by it (its partition, so its one writer).

    Events without one (disruptions) may carry any key or none.
    """
    location = getattr(event, "location", None)
    if location is None:
        return None
    if not key:
        return MISSING_KEY
    if key != _encoded(location):
        shown = key[:64].decode("utf-8", "replace")
        return Rejection("wrong_key", f"<record>: key {shown!r} is not the location {location!r}")
    return None


class TooOld:
    """An event older than the dedup horizon: counted late and dropped (SPEC §4.1).

    Its id may no longer be remembered, so storing it could count it twice; the
    engine would drop it anyway, as older than the longest window, unless its
    location lags the others by more than the horizon (documented).
    """

    __slots__ = ("event",)

    def __init__(self, event: Event) -> None:
        self.event = event


Outcome = Event | Rejection | TooOld
DAY = 86400
# `tuple.__new__` builds the named tuple without its Python-level `__new__` (a third of
# its cost, for every consumed message); the fields go in declaration order.
_record = tuple.__new__


def classify(
    messages: Sequence[Consumed],
    names: TopicNames,
    limits: Limits,
    now: float,
    oldest_day: int | None = None,
) -> Classified:
    """Validate every message of a batch against the contract of the topic it came from.

    `now` is the worker's clock (epoch seconds): an `occurred_at` more than the
    allowed skew ahead of it is refused (`clock_skew`). An event of a UTC day
    before `oldest_day` (the dedup horizon behind the latest event day stored;
    None: no limit) is `TooOld`. After the contract, the record's key is checked
    against the event (`missing_key`, `wrong_key`).
    """
    records: list[MessageRecord] = []
    outcomes: list[Outcome] = []
    short_of: dict[str, str] = {}  # full topic -> unprefixed, once per topic not per message
    not_after = latest_allowed(limits, now)
    not_before = (
        datetime.fromtimestamp(oldest_day * DAY, UTC)
        if oldest_day is not None and oldest_day > 0
        else None
    )
    for message in messages:
        full = message.topic
        topic = short_of.get(full)
        if topic is None:
            topic = short_of[full] = names.short(full)
        decoded = decode_event(message.value, topic=topic, limits=limits, not_after=not_after)
        if not isinstance(decoded, Rejection):
            decoded = _key_rejection(decoded, message.key) or decoded
        if isinstance(decoded, Rejection):
            outcomes.append(decoded)
            records.append(
                MessageRecord(topic, message.partition, message.offset, None, b"", decoded.reason)
            )
            continue
        occurred = decoded.occurred_at
        if not_before is not None and occurred < not_before:
            outcomes.append(TooOld(decoded))
            records.append(MessageRecord(topic, message.partition, message.offset, None, b"", LATE))
            continue
        outcomes.append(decoded)
        payload = cast(bytes, message.value)  # accepted: not a tombstone
        fields = (
            topic, message.partition, message.offset, decoded.event_id, payload,
            decoded.event_type, payload_digest(payload), int(occurred.timestamp() // DAY),
        )  # fmt: skip
        records.append(_record(MessageRecord, fields))
    return Classified(records, outcomes)
