"""Alerts to the kpi-alerts topic: aiokafka's retriable errors are retried with back-off,
a record the broker refuses for good is dead-lettered in the outbox, not retried for ever."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import errors as kafka_errors

from alerts.dispatcher import Backoff, Dispatcher
from alerts.model import Transition
from alerts.notifiers import DeliveryError
from alerts.notifiers.kafka_topic import KafkaTopicNotifier, delivery_error
from tests.unit.alerts.test_alert_delivery import MemoryOutbox


def _t(n: int) -> Transition:
    return Transition(
        id=f"id-{n}", key=f"k{n}", fingerprint=f"fp{n}", status="firing",
        labels={"alertname": "InventoryStockout", "severity": "warning"},
        annotations={"summary": f"s{n}"}, starts_at=100.0, ends_at=None, at=150.0,
    )  # fmt: skip


class FlakyTopic:
    """A `send` that raises the given errors in turn, then accepts; refuses `refuse` always."""

    def __init__(self, *errors: Exception, refuse: bytes = b"") -> None:
        self.errors = list(errors)
        self.refuse = refuse
        self.sent: list[bytes] = []

    async def __call__(self, key: bytes, value: bytes) -> None:
        if key == self.refuse:
            raise kafka_errors.MessageSizeTooLargeError()
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(key)


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (kafka_errors.KafkaTimeoutError(), False),
        (kafka_errors.RequestTimedOutError(), False),
        (kafka_errors.KafkaConnectionError("refused"), False),
        (kafka_errors.NotLeaderForPartitionError(), False),
        (kafka_errors.TopicAuthorizationFailedError(), False),  # an ACL being fixed
        (kafka_errors.MessageSizeTooLargeError(), True),
        (kafka_errors.InvalidTopicError(), True),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_kafka_errors_map_to_retried_or_permanent_delivery_errors(
    error: Exception, permanent: bool
) -> None:
    """Retriable and timeout errors are retried; a refusal for good is permanent."""
    mapped = delivery_error(error)
    assert isinstance(mapped, DeliveryError)
    assert mapped.permanent is permanent
    assert type(error).__name__ in str(mapped)


def test_broker_timeouts_are_retried_with_backoff_until_the_alert_is_on_the_topic() -> None:
    """Two KafkaTimeoutErrors then success: delivered once, after two back-off sleeps."""
    send = FlakyTopic(kafka_errors.KafkaTimeoutError(), kafka_errors.RequestTimedOutError())
    outbox = MemoryOutbox(_t(1), channel="kafka")
    sleeps: list[float] = []
    outcomes: list[str] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    dispatcher = Dispatcher(
        outbox,  # type: ignore[arg-type]
        [KafkaTopicNotifier(send)],
        on_result=lambda channel, outcome: outcomes.append(outcome),
        backoff=Backoff(initial_seconds=1, factor=2, max_seconds=5, jitter=0),
        sleep=sleep,
    )
    delivered = asyncio.run(dispatcher.drain(dispatcher._notifiers[0]))
    assert delivered == 1 and send.sent == [b"fp1"]
    assert sleeps == [1, 2]
    assert outcomes == ["failed", "failed", "sent"]
    assert outbox.entries == [] and outbox.dead == []


def test_an_alert_the_broker_refuses_for_good_is_dead_lettered_not_retried_for_ever() -> None:
    """MessageSizeTooLargeError: rejected into the outbox's dead letters, the next goes on."""
    send = FlakyTopic(refuse=b"fp1")
    outbox = MemoryOutbox(_t(1), _t(2), channel="kafka")
    outcomes: list[str] = []
    dispatcher = Dispatcher(
        outbox,  # type: ignore[arg-type]
        [KafkaTopicNotifier(send)],
        on_result=lambda channel, outcome: outcomes.append(outcome),
    )
    asyncio.run(dispatcher.drain(dispatcher._notifiers[0], max_attempts=5))
    assert [entry.transition.id for entry, _reason in outbox.dead] == ["id-1"]
    assert "MessageSizeTooLargeError" in outbox.dead[0][1]
    assert send.sent == [b"fp2"]
    assert outcomes == ["rejected", "sent"]
