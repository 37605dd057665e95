"""Consumed messages and their classification (pure: no Kafka, no Redis)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from streams.events.decode import Rejection, decode_event
from streams.events.models import Event
from streams.kafka.topics import TopicNames
from streams.store.records import MessageRecord


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A Kafka message as consumed: full topic name, position, key and value bytes."""

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


def classify(messages: Sequence[RawMessage], names: TopicNames, max_bytes: int) -> Classified:
    """Validate every message of a batch against the contract of the topic it came from."""
    records: list[MessageRecord] = []
    outcomes: list[Event | Rejection] = []
    for message in messages:
        topic = names.short(message.topic)
        outcome = decode_event(message.value, topic=topic, max_bytes=max_bytes)
        outcomes.append(outcome)
        if isinstance(outcome, Rejection):
            records.append(
                MessageRecord(
                    topic, message.partition, message.offset, None, "", 0.0, b"", outcome.reason
                )
            )
        else:
            records.append(
                MessageRecord(
                    topic,
                    message.partition,
                    message.offset,
                    outcome.event_id,
                    getattr(outcome, "location", ""),
                    outcome.occurred_at.timestamp(),
                    message.value,
                    outcome.event_type,
                )
            )
    return Classified(records, outcomes)
