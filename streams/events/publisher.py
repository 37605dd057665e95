"""Validating publisher: the only way our tools put events on the input topics.

Each event is validated against the contract first (nothing invalid is sent),
routed to the topic of its type and keyed by location (or its natural id).
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

import orjson

from streams.events.decode import Rejection, decode_event, event_key
from streams.events.limits import Limits, latest_allowed
from streams.events.models import TOPIC_OF
from streams.events.wire import Event
from streams.kafka.client import client_config
from streams.kafka.topics import TopicNames
from streams.settings import KafkaSettings


class RejectedEvent(ValueError):
    """An event that fails the contract; `rejection` says which field and why."""

    def __init__(self, rejection: Rejection) -> None:
        super().__init__(f"{rejection.reason}: {rejection.detail}")
        self.rejection = rejection


class EventPublisher:
    """Publishes validated events with kafka-python (acks=all, batched)."""

    def __init__(self, kafka: KafkaSettings, limits: Limits | None = None) -> None:
        """`limits` defaults to the contract's own with the configured message size."""
        from kafka import KafkaProducer

        self._kafka = kafka
        self._limits = limits or Limits(max_bytes=kafka.max_message_bytes)
        self._topics = TopicNames(kafka.topic_prefix)
        self._producer = KafkaProducer(
            **client_config(kafka),
            client_id="kpimon-publisher",
            acks="all",
            linger_ms=20,
            batch_size=256 * 1024,
            max_request_size=max(kafka.max_message_bytes * 2, 1_048_576),
            retries=10,
        )
        self.sent = 0

    def publish(self, event: dict[str, Any]) -> Event:
        """Validate and send a JSON-ready event dict; raises RejectedEvent when invalid."""
        return self.publish_raw(orjson.dumps(event))

    def publish_raw(self, raw: bytes) -> Event:
        """Validate and send one JSON message as given (byte for byte)."""
        # The worker's rules, clock skew included: a clear error here, not a dead letter there.
        not_after = latest_allowed(self._limits, time.time())
        decoded = decode_event(raw, limits=self._limits, not_after=not_after)
        if isinstance(decoded, Rejection):
            raise RejectedEvent(decoded)
        topic = self._topics.full(TOPIC_OF[decoded.event_type])
        self._producer.send(topic, key=event_key(decoded).encode(), value=raw)
        self.sent += 1
        return decoded

    def flush(self, timeout: float | None = 60.0) -> None:
        self._producer.flush(timeout=timeout)

    def close(self) -> None:
        self._producer.flush(timeout=60.0)
        self._producer.close(timeout=10.0)

    def __enter__(self) -> EventPublisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
