"""Topic names (with the configurable prefix) and topic administration.

Sizes: `kafka.max_message_bytes` is the validation limit (a larger message is
rejected as `oversized`). The input topics take twice that, so an oversized message
is published, consumed and dead-lettered rather than refused to its publisher; the
dead-letter topic takes that much again plus `DEAD_LETTER_HEADROOM_BYTES`, so every
message an input topic holds can be dead-lettered whole, with its reason headers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from streams.events.models import ALERTS_TOPIC, DLQ_TOPIC, INPUT_TOPICS
from streams.settings import KafkaSettings

# Room for a dead letter's headers (reason, a detail of at most 1 KiB, source topic,
# partition, offset, time) and record overhead, over the largest input message.
DEAD_LETTER_HEADROOM_BYTES = 64 * 1024
# Input topics keyed by location must be co-partitioned (SPEC §4.2): partition p of
# each holds the same locations. Disruptions span locations and are read whole.
GLOBAL_INPUT_TOPICS = frozenset({"disruptions"})
LOCATION_KEYED_TOPICS = tuple(name for name in INPUT_TOPICS if name not in GLOBAL_INPUT_TOPICS)

# The broker's default `message.max.bytes` (1 MiB + record batch overhead).
BROKER_DEFAULT_MAX_MESSAGE_BYTES = 1_048_588


def input_max_message_bytes(kafka: KafkaSettings) -> int:
    """`max.message.bytes` of the input and alert topics."""
    return max(kafka.max_message_bytes * 2, BROKER_DEFAULT_MAX_MESSAGE_BYTES)


def dead_letter_max_message_bytes(kafka: KafkaSettings) -> int:
    """`max.message.bytes` of the dead-letter topic: any input message plus its headers."""
    return input_max_message_bytes(kafka) + DEAD_LETTER_HEADROOM_BYTES


@dataclass(frozen=True)
class TopicNames:
    """Maps the spec's topic names to the prefixed names on the broker."""

    prefix: str = ""

    def full(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def short(self, full_name: str) -> str:
        """The unprefixed name of a prefixed topic (unchanged when it has no prefix)."""
        if self.prefix and full_name.startswith(self.prefix):
            return full_name[len(self.prefix) :]
        return full_name

    @property
    def inputs(self) -> list[str]:
        return [self.full(name) for name in INPUT_TOPICS]

    @property
    def dlq(self) -> str:
        return self.full(DLQ_TOPIC)

    @property
    def alerts(self) -> str:
        return self.full(ALERTS_TOPIC)

    @property
    def all(self) -> list[str]:
        return [*self.inputs, self.dlq, self.alerts]


def topic_configs(kafka: KafkaSettings) -> dict[str, dict[str, str]]:
    """The configuration each topic is created with, by full name."""
    names = TopicNames(kafka.topic_prefix)
    configs = {
        name: {"max.message.bytes": str(input_max_message_bytes(kafka))} for name in names.all
    }
    configs[names.dlq] = {"max.message.bytes": str(dead_letter_max_message_bytes(kafka))}
    return configs


@contextlib.contextmanager
def admin_client(kafka: KafkaSettings) -> Iterator[Any]:
    """A kafka-python admin client with the monitor's connection settings, closed after."""
    from kafka.admin import KafkaAdminClient

    from streams.kafka.client import client_config

    admin = KafkaAdminClient(**client_config(kafka), client_id="kpimon-admin")
    try:
        yield admin
    finally:
        admin.close()


def create_topics(kafka: KafkaSettings) -> list[str]:
    """Create every input and output topic that does not exist yet; returns those created.

    Existing topics are left as they are: a dead-letter topic created elsewhere with a
    smaller `max.message.bytes` still works (the worker truncates what it refuses).
    """
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    names = TopicNames(kafka.topic_prefix)
    configs = topic_configs(kafka)
    with admin_client(kafka) as admin:
        existing = set(admin.list_topics())
        wanted = [name for name in names.all if name not in existing]
        new = [
            NewTopic(
                name,
                num_partitions=kafka.partitions,
                replication_factor=kafka.replication_factor,
                topic_configs=configs[name],
            )
            for name in wanted
        ]
        if new:
            # A concurrent creator may win the race; the topic then exists as wanted.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
        return wanted


def co_partitioning_problem(counts: Mapping[str, int | None]) -> str | None:
    """What is wrong with the location-keyed input topics' partition counts, or None.

    `counts` maps each unprefixed location-keyed topic to its partition count (None:
    the topic does not exist). All must exist with one count: then partition p of
    every topic holds the same locations, whatever the producer's partitioner.
    """
    missing = sorted(name for name, count in counts.items() if count is None)
    if missing:
        return f"missing input topic(s) {', '.join(missing)}: run `kpimon topics create`"
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{name}={count}" for name, count in sorted(counts.items()))
        return (
            "the input topics keyed by location are not co-partitioned (SPEC §4.2: the "
            f"same partition count for all): {listed}. Give them one count (recreate "
            "them, or add partitions to the smaller ones; a location then moves to "
            "another partition, which one worker does not mind)"
        )
    return None


def partition_counts(kafka: KafkaSettings) -> dict[str, int | None]:
    """Partition count of each location-keyed input topic (None when it does not exist)."""
    names = TopicNames(kafka.topic_prefix)
    with admin_client(kafka) as admin:
        described = admin.describe_topics([names.full(name) for name in LOCATION_KEYED_TOPICS])
    found = {
        names.short(topic["name"]): len(topic["partitions"])
        for topic in described
        if topic.get("error_code", 0) == 0 and topic.get("partitions")
    }
    return {name: found.get(name) for name in LOCATION_KEYED_TOPICS}
