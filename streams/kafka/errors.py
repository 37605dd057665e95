"""What an aiokafka error means for the one who sent: try again, shrink, or give up.

aiokafka marks the errors a retry can cure with `.retriable`; it does not mark its
own `KafkaTimeoutError` (a batch that expired in the producer while the broker was
away) nor `NodeNotReadyError` in every version, though both heal when the broker
comes back. faust wraps errors raised while a record is queued in
`ProducerSendError`; the original is its `__cause__`.
"""

from __future__ import annotations

from typing import Literal

from aiokafka import errors as kafka_errors

# transient: send again later; too_large: the broker will never take this record as it
# is (send a smaller one); refused: the broker or the client refuses for good.
SendFailure = Literal["transient", "too_large", "refused"]

_TRANSIENT: tuple[type[BaseException], ...] = (
    kafka_errors.KafkaTimeoutError,
    kafka_errors.KafkaConnectionError,
    kafka_errors.NodeNotReadyError,
    kafka_errors.NoBrokersAvailable,
    kafka_errors.RequestTimedOutError,
    TimeoutError,
    ConnectionError,
    OSError,
)
_TOO_LARGE: tuple[type[BaseException], ...] = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError,
)


def unwrap(error: Exception) -> Exception:
    """The aiokafka error behind faust's `ProducerSendError` (or `error` itself)."""
    cause = error.__cause__
    if type(error).__name__ == "ProducerSendError" and isinstance(cause, Exception):
        return cause
    return error


def send_failure(error: BaseException) -> SendFailure | None:
    """How a failed send ended; None when `error` is not a Kafka or connection error."""
    if isinstance(error, Exception):
        error = unwrap(error)
    if isinstance(error, _TOO_LARGE):
        return "too_large"
    if isinstance(error, _TRANSIENT):
        return "transient"
    if isinstance(error, kafka_errors.KafkaError):
        return "transient" if error.retriable else "refused"
    return None
