"""The `kpi-alerts` topic: every alert state change as one JSON event.

Takes an async `send(key, value)` so it can ride on the worker's producer. Key:
the alert fingerprint (one alert's events stay in order on one partition).
Value: `{"event_id", "event_type": "alert.firing"|"alert.resolved", "occurred_at", ...}`
plus `Transition.to_dict()`; `event_id` is the transition id, so consumers can
de-duplicate a redelivery.

A failed send is a `DeliveryError` the dispatcher understands: a broker timeout,
a connection refused, a leader election (aiokafka's retriable errors,
`KafkaTimeoutError`, connection errors) are retried with back-off; a record the
broker refuses for good (too large, an invalid topic) is `permanent`, dead-lettered
in the outbox and logged, not retried for ever. Authorization failures are retried:
an operator fixing an ACL must not find the pages meanwhile dropped.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from alerts.model import Transition, isoformat
from alerts.notifiers import DeliveryError
from streams.kafka.errors import send_failure, unwrap
from streams.retry import describe

CHANNEL = "kafka"
Send = Callable[[bytes, bytes], Awaitable[Any]]


def alert_event(transition: Transition) -> dict[str, Any]:
    return {
        "event_id": transition.id,
        "event_type": f"alert.{transition.status}",
        "occurred_at": isoformat(transition.at),
        **transition.to_dict(),
    }


class KafkaTopicNotifier:
    """Publishes transitions through the given `send` coroutine function."""

    def __init__(self, send: Send) -> None:
        self._send = send

    @property
    def channel(self) -> str:
        return CHANNEL

    async def deliver(self, transition: Transition) -> None:
        value = json.dumps(alert_event(transition), separators=(",", ":"), sort_keys=True)
        try:
            await self._send(transition.fingerprint.encode(), value.encode())
        except Exception as error:
            raise delivery_error(error) from error


def delivery_error(error: Exception) -> DeliveryError:
    """The dispatcher's view of a failed send (see the module docstring)."""
    failure = send_failure(error)
    text = describe(unwrap(error))
    if failure is None or failure == "transient" or _authorization(error):
        return DeliveryError(f"kafka: {text}")
    return DeliveryError(f"kafka refused the alert: {text}", permanent=True)


def _authorization(error: Exception) -> bool:
    return "Authorization" in type(unwrap(error)).__name__
