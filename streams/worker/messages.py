"""Consumed messages and their classification (pure: no Kafka, no Redis)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from streams.events.decode import Rejection, decode_event
from streams.events.wire import Event
from streams.kafka.topics import TopicNames
from streams.store.records import MessageRecord


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
    def value(self) -> bytes: ...


class RawMessage(NamedTuple):
    """A `Consumed` message built by hand (faust's agent path, tests)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes


@dataclass(frozen=True, slots=True)
class Classified:
    """A batch split into store records, with the decoded event or rejection of each."""

    records: list[MessageRecord]
    outcomes: list[Event | Rejection]


def classify(messages: Sequence[Consumed], names: TopicNames, max_bytes: int) -> Classified:
    """Validate every message of a batch against the contract of the topic it came from."""
    records: list[MessageRecord] = []
    outcomes: list[Event | Rejection] = []
    short_of: dict[str, str] = {}  # full topic -> unprefixed, once per topic not per message
    for message in messages:
        full = message.topic
        topic = short_of.get(full)
        if topic is None:
            topic = short_of[full] = names.short(full)
        outcome = decode_event(message.value, topic=topic, max_bytes=max_bytes)
        outcomes.append(outcome)
        if isinstance(outcome, Rejection):
            record = MessageRecord(
                topic, message.partition, message.offset, None, b"", outcome.reason
            )
        else:
            record = MessageRecord(
                topic,
                message.partition,
                message.offset,
                outcome.event_id,
                message.value,
                outcome.event_type,
            )
        records.append(record)
    return Classified(records, outcomes)
