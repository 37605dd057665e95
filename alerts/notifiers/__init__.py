"""Delivery channels. A notifier sends transitions and raises `DeliveryError` on failure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from alerts.model import Transition


class DeliveryError(Exception):
    """A delivery failed. `permanent`: retrying the same payload cannot succeed.

    Messages name the channel and the status, never a secret or a URL's credentials.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@runtime_checkable
class Notifier(Protocol):
    """One delivery channel (`alertmanager`, `webhook`, `kafka`)."""

    @property
    def channel(self) -> str: ...

    async def deliver(self, transition: Transition) -> None: ...


@runtime_checkable
class BatchNotifier(Notifier, Protocol):
    """A channel that takes up to `max_batch` transitions in one request."""

    @property
    def max_batch(self) -> int: ...

    async def deliver_batch(self, transitions: Sequence[Transition]) -> None: ...


__all__ = ["BatchNotifier", "DeliveryError", "Notifier"]
