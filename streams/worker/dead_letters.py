"""Dead letters: rejected messages, byte for byte, with the reason in headers.

A rejected message is copied whole to the dead-letter topic whenever the topic can
take it (`kpimon topics create` gives that topic headroom over the input topics, see
`streams.kafka.topics`). One that it cannot take, because it is larger than the
topic's limit as configured or because the broker refuses it as too large, is
dead-lettered **truncated**: its first bytes, with headers `truncated: true`,
`original_size` (bytes) and `sha256` (hex digest of the whole value), so an operator
can still find, identify and fetch the original from its source topic and offset.
A dead letter is never the reason a batch cannot be stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import structlog

from streams.events.decode import Rejection
from streams.kafka.errors import send_failure, unwrap
from streams.retry import describe
from streams.worker.messages import Consumed

log = structlog.get_logger(__name__)

Headers = list[tuple[str, bytes]]
# (topic, key, value, headers) -> awaitable that resolves once the broker has the record.
SendFunction = Callable[[str, bytes | None, bytes | None, Headers], Awaitable[Awaitable[object]]]
Position = tuple[str, int, int]  # (topic, partition, offset) of the rejected message

# The `detail` header is for a human: long details (a hostile record's echo) are cut.
DETAIL_MAX_BYTES = 1024
# What a truncated dead letter keeps of the value and of the key.
TRUNCATED_VALUE_BYTES = 1024
TRUNCATED_KEY_BYTES = 256
# A record batch of one record beyond its key, value and headers: the batch header
# (61 bytes) and the record's length, attribute, timestamp, offset and size varints.
RECORD_OVERHEAD_BYTES = 128
HEADER_OVERHEAD_BYTES = 10  # the two length varints of one header
# Positions of acknowledged dead letters remembered (a few batches' worth, ~10 MB).
ACKNOWLEDGED_MEMORY = 100_000


class DeadLetterSink(Protocol):
    async def send_all(self, rejected: Sequence[tuple[Consumed, Rejection]]) -> None: ...


def _cut(text: str, limit: int) -> bytes:
    """`text` as UTF-8, at most `limit` bytes, never splitting a character."""
    raw = text.encode("utf-8", "replace")
    if len(raw) <= limit:
        return raw
    return raw[: limit - 3].decode("utf-8", "ignore").encode() + b"..."


def dead_letter_headers(message: Consumed, rejection: Rejection, source_topic: str) -> Headers:
    """Headers naming why and where a message was rejected (all values UTF-8)."""
    return [
        ("reason", rejection.reason.encode()),
        ("detail", _cut(rejection.detail, DETAIL_MAX_BYTES)),
        ("source_topic", source_topic.encode()),
        ("source_partition", str(message.partition).encode()),
        ("source_offset", str(message.offset).encode()),
        ("rejected_at", f"{time.time():.3f}".encode()),
    ]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    key: bytes | None
    value: bytes | None
    headers: Headers
    truncated: bool = False

    @property
    def size(self) -> int:
        """Bytes of the record batch that carries this record alone (an upper estimate)."""
        return (
            RECORD_OVERHEAD_BYTES
            + len(self.key or b"")
            + len(self.value or b"")
            + sum(HEADER_OVERHEAD_BYTES + len(k) + len(v) for k, v in self.headers)
        )


def whole(message: Consumed, rejection: Rejection) -> DeadLetter:
    """The message as it was consumed, with the reason headers."""
    return DeadLetter(
        message.key, message.value, dead_letter_headers(message, rejection, message.topic)
    )


def truncated(message: Consumed, rejection: Rejection) -> DeadLetter:
    """The first bytes of the message, with its size and SHA-256 in headers."""
    value = message.value or b""
    headers = dead_letter_headers(message, rejection, message.topic)
    headers += [
        ("truncated", b"true"),
        ("original_size", str(len(value)).encode()),
        ("sha256", hashlib.sha256(value).hexdigest().encode()),
    ]
    key = message.key
    if key is not None and len(key) > TRUNCATED_KEY_BYTES:
        headers += [
            ("original_key_size", str(len(key)).encode()),
            ("key_sha256", hashlib.sha256(key).hexdigest().encode()),
        ]
        key = key[:TRUNCATED_KEY_BYTES]
    return DeadLetter(key, value[:TRUNCATED_VALUE_BYTES], headers, truncated=True)


def dead_letter(message: Consumed, rejection: Rejection, max_bytes: int) -> DeadLetter:
    """The whole message when a topic taking `max_bytes` per record can hold it, else truncated."""
    letter = whole(message, rejection)
    return letter if letter.size <= max_bytes else truncated(message, rejection)


class KafkaDeadLetters:
    """Sends to the dead-letter topic and waits for the broker's acknowledgement.

    The worker awaits this before it stores the batch, so a rejected message is
    never lost. A send that fails is raised to the worker's batch retry (a broker
    timeout, a leader election: `streams.worker.faults`); the retry sends again only
    the dead letters the broker has not acknowledged (by source position), so a
    flaky broker does not multiply them. After a crash a message may still be
    dead-lettered twice (consumers can de-duplicate on the source_topic/partition/
    offset headers). One attempt waits at most about one `worker.send_timeout_seconds`:
    once the producer cannot queue a record in time, the rest wait for the retry.

    `max_bytes` is the dead-letter topic's `max.message.bytes`: larger dead letters
    are truncated before they are sent, and any the broker still refuses as too
    large are sent again truncated.
    """

    def __init__(self, topic: str, send: SendFunction, max_bytes: int) -> None:
        self._topic = topic
        self._send = send
        self._max_bytes = max_bytes
        # Positions the broker acknowledged lately, oldest first: a batch retried (or a
        # message redelivered after a rebalance) does not dead-letter them again.
        self._acknowledged: dict[Position, None] = {}

    async def send_all(self, rejected: Sequence[tuple[Consumed, Rejection]]) -> None:
        letters: dict[Position, DeadLetter] = {}
        for message, rejection in rejected:
            position = (message.topic, message.partition, message.offset)
            if position not in self._acknowledged:
                letters[position] = dead_letter(message, rejection, self._max_bytes)
        if not letters:
            return
        sources = {
            (message.topic, message.partition, message.offset): (message, rejection)
            for message, rejection in rejected
        }
        for letter_position, letter in letters.items():
            if letter.truncated:
                self._log_truncated(sources[letter_position][0], "larger than the topic takes")
        failures = await self._send_letters(letters)
        # Refused as too large (the topic's limit is lower than configured): truncate.
        shrink = {
            position: truncated(*sources[position])
            for position, error in failures.items()
            if send_failure(error) == "too_large" and not letters[position].truncated
        }
        if shrink:
            for position in shrink:
                self._log_truncated(sources[position][0], "refused by the broker as too large")
            failures = {p: e for p, e in failures.items() if p not in shrink}
            failures.update(await self._send_letters(shrink))
        if failures:
            raise self._worst(failures, len(letters))

    async def _send_letters(self, letters: dict[Position, DeadLetter]) -> dict[Position, Exception]:
        """Send every letter; returns the failures (the acknowledged ones are remembered)."""
        failures: dict[Position, Exception] = {}
        pending: list[tuple[Position, Awaitable[object]]] = []
        blocked: Exception | None = None  # the producer could not queue a record in time
        for position, letter in letters.items():
            if blocked is not None:
                failures[position] = blocked  # not tried: each try could wait as long
                continue
            try:
                future = await self._send(self._topic, letter.key, letter.value, letter.headers)
            except Exception as error:  # queueing failed: judged with the others below
                failures[position] = cause = unwrap(error)  # faust wraps aiokafka's errors
                if send_failure(cause) == "transient":
                    blocked = cause
            else:
                pending.append((position, future))
        results = await asyncio.gather(*(f for _, f in pending), return_exceptions=True)
        for (position, _), result in zip(pending, results, strict=True):
            if isinstance(result, asyncio.CancelledError):
                failures[position] = TimeoutError("dead-letter send cancelled")
            elif isinstance(result, Exception):
                failures[position] = result
            elif isinstance(result, BaseException):
                raise result
            else:
                self._acknowledged[position] = None
        while len(self._acknowledged) > ACKNOWLEDGED_MEMORY:
            del self._acknowledged[next(iter(self._acknowledged))]
        return failures

    def _worst(self, failures: dict[Position, Exception], attempted: int) -> Exception:
        """The error to raise: one the broker will not get over, else the first transient."""
        errors = list(failures.values())
        worst = next((e for e in errors if send_failure(e) != "transient"), errors[0])
        log.warning(
            "dead letters not acknowledged",
            failed=len(failures),
            attempted=attempted,
            error=describe(worst),
        )
        return worst

    def _log_truncated(self, message: Consumed, why: str) -> None:
        log.warning(
            "dead letter truncated",
            why=why,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            original_size=len(message.value or b""),
        )
