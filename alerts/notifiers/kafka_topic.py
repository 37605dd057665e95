"""The `kpi-alerts` topic: every alert state change as one JSON event.

Takes an async `send(key, value)` so it can ride on the worker's producer. Key:
the alert fingerprint (one alert's events stay in order on one partition).
Value: `{"event_id", "event_type": "alert.firing"|"alert.resolved", "occurred_at", ...}`
plus `Transition.to_dict()`; `event_id` is the transition id, so consumers can
de-duplicate a redelivery.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from alerts.model import Transition, isoformat

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
        await self._send(transition.fingerprint.encode(), value.encode())
