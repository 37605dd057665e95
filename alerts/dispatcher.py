"""Drains the outbox: per channel, in order, with retries and capped exponential back-off.

An outbox entry is acknowledged (deleted) only after its channel accepted it,
so nothing is lost while a receiver is down: the channel's loop keeps retrying
the oldest entries, and entries behind them wait their turn. A transition a
receiver refuses for good (a 4xx other than 408/425/429) goes to the channel's
dead-letter stream instead of blocking the channel for ever.

Every transition's outcome is reported through `on_result(channel, outcome)`
(see `alerts.outcomes`): `sent`, `failed` (one failed attempt, retried) or
`rejected` (dead-lettered).
A lease per channel lets several workers run a dispatcher while only one
drains each channel. The back-off is the monitor's one (`streams.retry.Backoff`);
a channel's loop runs until cancelled, since an alert waiting in the outbox loses
nothing, but every failed attempt is logged and counted (`failed`), and a refusal
for good is dead-lettered rather than retried.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

import structlog

from alerts.notifiers import BatchNotifier, DeliveryError, Notifier
from alerts.outcomes import FAILED, REJECTED, SENT, OnResult, report
from alerts.store import Outbox, OutboxEntry
from streams.retry import Backoff, Sleep

log = structlog.get_logger(__name__)

__all__ = ["Backoff", "Dispatcher", "Sleep"]


class _Partial(Exception):
    """Delivery stopped part-way: the first `done` entries were delivered."""

    def __init__(self, done: int, error: Exception) -> None:
        super().__init__(str(error))
        self.done = done
        self.error = error


class Dispatcher:
    """Runs one delivery loop per notifier until cancelled."""

    def __init__(
        self,
        outbox: Outbox,
        notifiers: Sequence[Notifier],
        *,
        on_result: OnResult | None = None,
        backoff: Backoff | None = None,
        batch_size: int = 500,
        idle_wait_seconds: float = 1.0,
        delivery_timeout_seconds: float = 30.0,
        lease_seconds: float = 30.0,
        owner: str | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._outbox = outbox
        self._notifiers = list(notifiers)
        self._on_result = on_result
        self._backoff = backoff or Backoff()
        self._batch_size = batch_size
        self._idle_wait = idle_wait_seconds
        self._timeout = delivery_timeout_seconds
        self._lease = lease_seconds
        self._owner = owner or uuid.uuid4().hex
        self._sleep = sleep

    async def _count(self, channel: str, outcome: str, times: int) -> None:
        await report(self._on_result, channel, outcome, times)

    async def _send(self, notifier: Notifier, entries: Sequence[OutboxEntry]) -> None:
        transitions = [e.transition for e in entries]
        if isinstance(notifier, BatchNotifier) and len(entries) > 1:
            await asyncio.wait_for(notifier.deliver_batch(transitions), self._timeout)
            return
        for done, transition in enumerate(transitions):
            try:
                await asyncio.wait_for(notifier.deliver(transition), self._timeout)
            except Exception as error:
                raise _Partial(done, error) from error

    def _chunk(self, notifier: Notifier, entries: list[OutboxEntry]) -> list[OutboxEntry]:
        if isinstance(notifier, BatchNotifier):
            return entries[: max(1, notifier.max_batch)]
        return entries

    async def _one_by_one(self, notifier: Notifier, entries: Sequence[OutboxEntry]) -> None:
        """After a batch was refused for good: find and dead-letter the refused ones."""
        channel = notifier.channel
        for entry in entries:
            try:
                await asyncio.wait_for(notifier.deliver(entry.transition), self._timeout)
            except DeliveryError as error:
                if not error.permanent:
                    raise
                await self._outbox.reject(channel, [entry], str(error))
                await self._count(channel, REJECTED, 1)
                log.error("alert refused for good", channel=channel, reason=str(error))
            else:
                await self._outbox.ack(channel, [entry.entry_id])
                await self._count(channel, SENT, 1)

    async def attempt(self, notifier: Notifier) -> int | None:
        """One delivery attempt of the channel's oldest entries.

        Returns how many were delivered (0 when the outbox is empty), or None
        when the attempt failed and should be retried after a back-off.
        """
        channel = notifier.channel
        entries = self._chunk(notifier, await self._outbox.peek(channel, self._batch_size))
        if not entries:
            return 0
        try:
            await self._send(notifier, entries)
        except _Partial as partial:
            delivered = entries[: partial.done]
            await self._outbox.ack(channel, [e.entry_id for e in delivered])
            await self._count(channel, SENT, len(delivered))
            return await self._failed(notifier, entries[partial.done :], partial.error)
        except Exception as error:
            return await self._failed(notifier, entries, error)
        await self._outbox.ack(channel, [e.entry_id for e in entries])
        await self._count(channel, SENT, len(entries))
        return len(entries)

    async def _failed(
        self, notifier: Notifier, entries: Sequence[OutboxEntry], error: Exception
    ) -> int | None:
        channel = notifier.channel
        if isinstance(error, DeliveryError) and error.permanent:
            if len(entries) == 1:
                await self._outbox.reject(channel, entries, str(error))
                await self._count(channel, REJECTED, 1)
                log.error("alert refused for good", channel=channel, reason=str(error))
            else:
                await self._one_by_one(notifier, entries)
            return len(entries)
        reason = str(error) or type(error).__name__
        await self._count(channel, FAILED, len(entries))
        log.warning("alert delivery failed, will retry", channel=channel, error=reason)
        return None

    async def drain(self, notifier: Notifier, max_attempts: int = 1000) -> int:
        """Deliver until the channel's outbox is empty (tests, shutdown); returns the count."""
        delivered = 0
        failures = 0
        for _ in range(max_attempts):
            outcome = await self.attempt(notifier)
            if outcome == 0:
                return delivered
            if outcome is None:
                failures += 1
                await self._sleep(self._backoff.delay(failures))
            else:
                failures = 0
                delivered += outcome
        return delivered

    async def run_channel(self, notifier: Notifier) -> None:
        """Until cancelled: deliver, back off after failures, wait when idle.

        A cancellation that a library swallows (a blocking Redis read cancelled at the
        wrong moment returns instead of raising) still ends the loop: the task's own
        count of pending cancellations is checked at every turn, so a stop never waits
        for ever on a channel that goes on polling.
        """
        channel = notifier.channel
        failures = 0
        me = asyncio.current_task()
        while True:
            if me is not None and me.cancelling():
                raise asyncio.CancelledError
            try:
                if not await self._outbox.acquire(channel, self._owner, self._lease):
                    await self._sleep(self._lease / 3)
                    continue
                outcome = await self.attempt(notifier)
                if outcome == 0:
                    failures = 0
                    await self._outbox.wait(channel, self._idle_wait)
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the store itself failed: retry like a delivery
                log.warning("alert outbox unavailable", channel=channel, error=str(error))
                outcome = None
            if outcome is None:
                failures += 1
                await self._sleep(self._backoff.delay(failures))
            else:
                failures = 0

    async def run(self) -> None:
        """Every channel's loop, concurrently, until cancelled."""
        async with asyncio.TaskGroup() as group:
            for notifier in self._notifiers:
                group.create_task(self.run_channel(notifier), name=f"alerts-{notifier.channel}")
