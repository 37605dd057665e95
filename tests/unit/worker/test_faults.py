"""Which Redis and Kafka failures the worker waits out, retries a few times, or gives up on."""

from __future__ import annotations

import pytest
from aiokafka import errors as kafka_errors
from faust.exceptions import ProducerSendError
from redis import exceptions as redis_errors

from streams.kafka.errors import send_failure
from streams.retry import Stalled, Verdict
from streams.worker.faults import worker_verdict


def _wrapped(cause: Exception) -> ProducerSendError:
    """What faust raises when aiokafka refuses to queue a record."""
    try:
        raise ProducerSendError(f"Error while sending: {cause!r}") from cause
    except ProducerSendError as error:
        return error


CASES: list[tuple[str, BaseException, Verdict]] = [
    ("redis down", redis_errors.ConnectionError("refused"), "transient"),
    ("redis timeout", redis_errors.TimeoutError("slow"), "transient"),
    ("redis loading", redis_errors.BusyLoadingError("loading"), "transient"),
    ("replica promoted", redis_errors.ReadOnlyError("READONLY"), "transient"),
    ("redis script error", redis_errors.ResponseError("ERR Error running script"), "suspect"),
    ("redis wrong type", redis_errors.ResponseError("WRONGTYPE"), "suspect"),
    ("redis login refused", redis_errors.AuthenticationError("WRONGPASS"), "suspect"),
    ("redis NOPERM", redis_errors.NoPermissionError("NOPERM"), "suspect"),
    ("kafka batch expired", kafka_errors.KafkaTimeoutError(), "transient"),
    ("kafka request timed out", kafka_errors.RequestTimedOutError(), "transient"),
    ("kafka connection", kafka_errors.KafkaConnectionError("gone"), "transient"),
    ("leader election", kafka_errors.NotLeaderForPartitionError(), "transient"),
    ("topic being created", kafka_errors.UnknownTopicOrPartitionError(), "transient"),
    ("faust-wrapped timeout", _wrapped(kafka_errors.KafkaTimeoutError()), "transient"),
    ("record too large", kafka_errors.MessageSizeTooLargeError(), "suspect"),
    ("ACL refused", kafka_errors.TopicAuthorizationFailedError(), "suspect"),
    ("socket error", OSError("EPIPE"), "transient"),
    ("asyncio timeout", TimeoutError(), "transient"),
    ("a bug", ValueError("bug"), "fatal"),
    ("an inner step gave up", Stalled("dead letters"), "fatal"),
]


@pytest.mark.parametrize(("name", "error", "verdict"), CASES, ids=[c[0] for c in CASES])
def test_worker_verdict(name: str, error: BaseException, verdict: Verdict) -> None:
    """Outages are transient (chaos kills heal), refusals suspect, bugs fatal."""
    assert worker_verdict(error) == verdict


def test_send_failures_separate_too_large_from_refused_and_transient() -> None:
    """A record too large is shrunk, not retried; a refusal is not retried as an outage."""
    assert send_failure(kafka_errors.MessageSizeTooLargeError()) == "too_large"
    assert send_failure(_wrapped(kafka_errors.MessageSizeTooLargeError())) == "too_large"
    assert send_failure(kafka_errors.RecordListTooLargeError()) == "too_large"
    assert send_failure(kafka_errors.InvalidTopicError()) == "refused"
    assert send_failure(kafka_errors.KafkaTimeoutError()) == "transient"
    assert send_failure(ValueError("not kafka")) is None
