"""Topic names (with the configurable prefix) and topic administration."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from streams.events.models import ALERTS_TOPIC, DLQ_TOPIC, INPUT_TOPICS
from streams.settings import KafkaSettings


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


def create_topics(kafka: KafkaSettings) -> list[str]:
    """Create every input and output topic that does not exist yet; returns those created."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    from streams.kafka.client import client_config

    names = TopicNames(kafka.topic_prefix)
    admin = KafkaAdminClient(**client_config(kafka), client_id="kpimon-admin")
    try:
        existing = set(admin.list_topics())
        wanted = [name for name in names.all if name not in existing]
        new = [
            NewTopic(
                name,
                num_partitions=kafka.partitions,
                replication_factor=kafka.replication_factor,
                topic_configs={
                    "max.message.bytes": str(max(kafka.max_message_bytes * 2, 1_048_588))
                },
            )
            for name in wanted
        ]
        if new:
            # A concurrent creator may win the race; the topic then exists as wanted.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(new)
        return wanted
    finally:
        admin.close()
