"""Dead letters: rejected messages, byte for byte, with the reason in headers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from streams.events.decode import Rejection
from streams.worker.messages import Consumed

Headers = list[tuple[str, bytes]]
# (topic, key, value, headers) -> awaitable that resolves once the broker has the record.
SendFunction = Callable[[str, bytes | None, bytes, Headers], Awaitable[Awaitable[object]]]


class DeadLetterSink(Protocol):
    async def send_all(self, rejected: Sequence[tuple[Consumed, Rejection]]) -> None: ...


def dead_letter_headers(message: Consumed, rejection: Rejection, source_topic: str) -> Headers:
    """Headers naming why and where a message was rejected (all values UTF-8)."""
    return [
        ("reason", rejection.reason.encode()),
        ("detail", rejection.detail.encode("utf-8", "replace")),
        ("source_topic", source_topic.encode()),
        ("source_partition", str(message.partition).encode()),
        ("source_offset", str(message.offset).encode()),
        ("rejected_at", f"{time.time():.3f}".encode()),
    ]


class KafkaDeadLetters:
    """Sends to the dead-letter topic and waits for the broker's acknowledgement.

    The worker awaits this before it commits the batch, so a rejected message
    is never lost; after a crash in between it may be dead-lettered twice
    (consumers can de-duplicate on the source_topic/partition/offset headers).
    """

    def __init__(self, topic: str, send: SendFunction) -> None:
        self._topic = topic
        self._send = send

    async def send_all(self, rejected: Sequence[tuple[Consumed, Rejection]]) -> None:
        pending = [
            await self._send(
                self._topic,
                message.key,
                message.value,
                dead_letter_headers(message, rejection, message.topic),
            )
            for message, rejection in rejected
        ]
        if pending:
            await asyncio.gather(*pending)
