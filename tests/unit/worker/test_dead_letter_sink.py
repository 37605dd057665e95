"""Dead letters: whole when the topic takes them, truncated with size and hash when not,
and a failed send raised for the batch retry, which resends only what was not acknowledged."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable

import pytest
from aiokafka import errors as kafka_errors
from faust.exceptions import ProducerSendError

from streams.events.decode import Rejection
from streams.kafka.topics import (
    dead_letter_max_message_bytes,
    input_max_message_bytes,
    topic_configs,
)
from streams.settings import KafkaSettings
from streams.worker.dead_letters import (
    DETAIL_MAX_BYTES,
    TRUNCATED_KEY_BYTES,
    TRUNCATED_VALUE_BYTES,
    Headers,
    KafkaDeadLetters,
    whole,
)
from streams.worker.messages import RawMessage

BAD = Rejection("invalid_json", "line 1: unexpected end")


class Broker:
    """A fake `send`: records what is sent; refuses or fails what it is told to."""

    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes  # the topic's real max.message.bytes
        self.sent: list[tuple[bytes | None, bytes | None, dict[str, bytes]]] = []
        self.fail_next: dict[int, Exception] = {}  # offset -> error of its next send
        self.raise_on_queue: dict[int, Exception] = {}

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers
    ) -> Awaitable[object]:
        offset = int(dict(headers)["source_offset"])
        if offset in self.raise_on_queue:
            raise self.raise_on_queue.pop(offset)
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        size = len(key or b"") + len(value or b"") + sum(len(k) + len(v) for k, v in headers)
        if offset in self.fail_next:
            future.set_exception(self.fail_next.pop(offset))
        elif self.max_bytes is not None and size > self.max_bytes:
            future.set_exception(kafka_errors.MessageSizeTooLargeError())
        else:
            self.sent.append((key, value, dict(headers)))
            future.set_result(None)
        return future


def message(offset: int, value: bytes | None, key: bytes | None = b"DC-1") -> RawMessage:
    return RawMessage("inventory", 0, offset, key, value)  # type: ignore[arg-type]


def send_all(sink: KafkaDeadLetters, *messages: RawMessage) -> None:
    asyncio.run(sink.send_all([(m, BAD) for m in messages]))


def test_a_message_just_under_the_input_limit_is_dead_lettered_whole() -> None:
    """limit - 1 bytes plus every header fits the dead-letter topic's max.message.bytes."""
    kafka = KafkaSettings(max_message_bytes=1_048_576)
    limit = dead_letter_max_message_bytes(kafka)
    broker = Broker(max_bytes=limit)
    value = b"{" + b"x" * (kafka.max_message_bytes - 2)
    # A long key and a long detail make the headers as large as they get.
    long = Rejection("unknown_field", "field " + "y" * 5000)
    sink = KafkaDeadLetters("events-dlq", broker.send, limit)
    asyncio.run(sink.send_all([(message(7, value, key=b"k" * 200), long)]))
    [(key, sent, headers)] = broker.sent
    assert sent == value and key == b"k" * 200
    assert "truncated" not in headers
    assert headers["reason"] == b"unknown_field"
    assert len(headers["detail"]) <= DETAIL_MAX_BYTES


def test_every_message_an_input_topic_takes_fits_the_dead_letter_topic_whole() -> None:
    """The dead-letter topic's headroom covers the largest input record plus headers."""
    kafka = KafkaSettings(max_message_bytes=20_000)
    biggest = message(1, b"v" * (input_max_message_bytes(kafka) - 300), key=b"k" * 250)
    letter = whole(biggest, Rejection("oversized", "d" * 5000))
    assert letter.size <= dead_letter_max_message_bytes(kafka)


def test_a_message_larger_than_the_topic_takes_is_truncated_with_size_and_hash() -> None:
    """3 MB into a 1.1 MB dead-letter topic: its first bytes, original_size and sha256."""
    broker = Broker()
    value = bytes(range(256)) * (3_000_000 // 256)
    sink = KafkaDeadLetters("events-dlq", broker.send, 1_100_000)
    send_all(sink, message(9, value))
    [(key, sent, headers)] = broker.sent
    assert sent == value[:TRUNCATED_VALUE_BYTES]
    assert key == b"DC-1"
    assert headers["truncated"] == b"true"
    assert headers["original_size"] == str(len(value)).encode()
    assert headers["sha256"] == hashlib.sha256(value).hexdigest().encode()
    assert headers["source_offset"] == b"9" and headers["reason"] == b"invalid_json"


def test_a_huge_key_is_cut_too_with_its_own_size_and_hash() -> None:
    """A hostile 2 MB key: the dead letter keeps a prefix and says how long it was."""
    broker = Broker()
    key = b"K" * 2_000_000
    sink = KafkaDeadLetters("events-dlq", broker.send, 1_100_000)
    send_all(sink, message(3, b"{}", key=key))
    [(sent_key, _value, headers)] = broker.sent
    assert sent_key == key[:TRUNCATED_KEY_BYTES]
    assert headers["original_key_size"] == b"2000000"
    assert headers["key_sha256"] == hashlib.sha256(key).hexdigest().encode()


def test_a_record_the_broker_refuses_as_too_large_is_sent_again_truncated() -> None:
    """The topic was created elsewhere with a lower limit: no failure, a truncated copy."""
    broker = Broker(max_bytes=50_000)  # the worker believes 1.1 MB
    value = b"x" * 200_000
    sink = KafkaDeadLetters("events-dlq", broker.send, 1_100_000)
    send_all(sink, message(1, b"small"), message(2, value), message(3, b"also small"))
    by_offset = {h["source_offset"]: (v, h) for _k, v, h in broker.sent}
    assert by_offset[b"1"] == (b"small", by_offset[b"1"][1])
    assert by_offset[b"2"][0] == value[:TRUNCATED_VALUE_BYTES]
    assert by_offset[b"2"][1]["original_size"] == b"200000"
    assert len(broker.sent) == 3


def test_a_refusal_raised_while_queueing_is_handled_like_one_from_the_broker() -> None:
    """aiokafka's own size check (wrapped by faust) also falls back to the truncated copy."""
    broker = Broker()
    cause = kafka_errors.MessageSizeTooLargeError("larger than max_request_size")
    try:
        raise ProducerSendError("Error while sending") from cause
    except ProducerSendError as wrapped:
        broker.raise_on_queue[4] = wrapped
    sink = KafkaDeadLetters("events-dlq", broker.send, 10_000_000)
    send_all(sink, message(4, b"z" * 5000))
    [(_key, value, headers)] = broker.sent
    assert headers["truncated"] == b"true" and value == b"z" * TRUNCATED_VALUE_BYTES


def test_a_broker_timeout_is_raised_and_the_retry_resends_only_what_was_not_acknowledged() -> None:
    """Three dead letters, one times out: raised; the batch retry sends that one only."""
    broker = Broker()
    broker.fail_next[2] = kafka_errors.KafkaTimeoutError()
    sink = KafkaDeadLetters("events-dlq", broker.send, 1_000_000)
    batch = [message(1, b"a"), message(2, b"b"), message(3, b"c")]
    with pytest.raises(kafka_errors.KafkaTimeoutError):
        send_all(sink, *batch)
    assert [h["source_offset"] for _k, _v, h in broker.sent] == [b"1", b"3"]
    send_all(sink, *batch)  # the worker's batch retry
    assert [h["source_offset"] for _k, _v, h in broker.sent] == [b"1", b"3", b"2"]
    send_all(sink, message(1, b"a"), message(4, b"d"))  # 1 redelivered after a rebalance
    assert [h["source_offset"] for _k, _v, h in broker.sent] == [b"1", b"3", b"2", b"4"]


def test_a_refusal_for_good_is_raised_rather_than_a_transient_error() -> None:
    """One times out, one is refused by ACL: the refusal decides (the worker gives up on it)."""
    broker = Broker()
    broker.fail_next[1] = kafka_errors.KafkaTimeoutError()
    broker.fail_next[2] = kafka_errors.TopicAuthorizationFailedError()
    sink = KafkaDeadLetters("events-dlq", broker.send, 1_000_000)
    with pytest.raises(kafka_errors.TopicAuthorizationFailedError):
        send_all(sink, message(1, b"a"), message(2, b"b"))


def test_a_tombstone_is_dead_lettered_as_a_record_without_value() -> None:
    """A record with no value keeps having none in the dead-letter topic."""
    broker = Broker()
    sink = KafkaDeadLetters("events-dlq", broker.send, 1_000_000)
    send_all(sink, message(5, None))
    [(_key, value, headers)] = broker.sent
    assert value is None and "truncated" not in headers


def test_topics_are_created_with_dead_letter_headroom() -> None:
    """`kpimon topics create`: inputs take twice the limit, events-dlq that plus 64 KiB."""
    configs = topic_configs(KafkaSettings(max_message_bytes=1_000_000, topic_prefix="p."))
    assert configs["p.inventory"]["max.message.bytes"] == "2000000"
    assert configs["p.kpi-alerts"]["max.message.bytes"] == "2000000"
    assert configs["p.events-dlq"]["max.message.bytes"] == str(2_000_000 + 64 * 1024)


def test_once_the_producer_cannot_queue_a_record_the_rest_wait_for_the_retry() -> None:
    """A queueing timeout stops the attempt: one wait, not one per dead letter."""
    broker = Broker()
    cause = kafka_errors.KafkaTimeoutError()
    try:
        raise ProducerSendError("Error while sending") from cause
    except ProducerSendError as wrapped:
        broker.raise_on_queue[2] = wrapped
    sink = KafkaDeadLetters("events-dlq", broker.send, 1_000_000)
    batch = [message(offset, b"bad") for offset in range(1, 6)]
    with pytest.raises(kafka_errors.KafkaTimeoutError):
        send_all(sink, *batch)
    assert [h["source_offset"] for _k, _v, h in broker.sent] == [b"1"]
    send_all(sink, *batch)
    assert [h["source_offset"] for _k, _v, h in broker.sent] == [b"1", b"2", b"3", b"4", b"5"]
