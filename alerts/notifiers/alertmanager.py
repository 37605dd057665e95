"""Alertmanager v2 API: POST /api/v2/alerts with labels, annotations, startsAt and endsAt.

A firing alert is sent with `endsAt` a little in the future (`firing_ttl_seconds`
past the wall clock, as Prometheus does) and re-sent by `AlertmanagerResender`
well before that, so Alertmanager keeps it active while the monitor is alive
and lets it expire if the monitor dies. A resolution is sent with `endsAt` =
the event time it ended (never later than now), which resolves it at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import httpx
import structlog

from alerts.model import AlertState, Transition, isoformat
from alerts.notifiers.http import check, redact, transport_error
from alerts.outcomes import RESEND_FAILED, RESENT, OnResult, report

log = structlog.get_logger(__name__)

CHANNEL = "alertmanager"


def alert_payload(
    labels: dict[str, str],
    annotations: dict[str, str],
    starts_at: float,
    ends_at: float,
) -> dict[str, Any]:
    """One element of the POST /api/v2/alerts body."""
    payload: dict[str, Any] = {
        "labels": dict(labels),
        "annotations": {k: v for k, v in annotations.items() if v != ""},
        "startsAt": isoformat(starts_at),
        "endsAt": isoformat(ends_at),
    }
    dashboard = annotations.get("dashboard_url")
    if dashboard:
        payload["generatorURL"] = dashboard
    return payload


class AlertmanagerNotifier:
    """Delivers transitions to one Alertmanager (a `BatchNotifier`)."""

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient | None = None,
        *,
        timeout_seconds: float = 10.0,
        firing_ttl_seconds: float = 300.0,
        max_batch: int = 500,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._endpoint = url.rstrip("/") + "/api/v2/alerts"
        self._target = redact(self._endpoint)
        self._client = client or httpx.AsyncClient(timeout=timeout_seconds)
        self._timeout = timeout_seconds
        self._ttl = firing_ttl_seconds
        self._max_batch = max_batch
        self._clock = clock
        # Held while delivering transitions and while re-sending, so a re-send that read
        # an alert as firing cannot overtake the delivery of its resolution.
        self.lock = asyncio.Lock()

    @property
    def channel(self) -> str:
        return CHANNEL

    @property
    def max_batch(self) -> int:
        return self._max_batch

    def _firing_end(self, starts_at: float) -> float:
        return max(self._clock(), starts_at) + self._ttl

    def payload(self, transition: Transition) -> dict[str, Any]:
        if transition.status == "firing":
            ends = self._firing_end(transition.starts_at)
        else:
            ended = transition.ends_at if transition.ends_at is not None else self._clock()
            ends = max(transition.starts_at, min(ended, self._clock()))
        return alert_payload(transition.labels, transition.annotations, transition.starts_at, ends)

    def state_payload(self, state: AlertState) -> dict[str, Any]:
        ends = self._firing_end(state.active_since)
        return alert_payload(state.labels, state.annotations, state.active_since, ends)

    async def post(self, alerts: Sequence[dict[str, Any]]) -> None:
        """POST a list of alerts; raises DeliveryError on any failure."""
        try:
            response = await self._client.post(
                self._endpoint, json=list(alerts), timeout=self._timeout
            )
        except httpx.HTTPError as error:
            raise transport_error(error, CHANNEL, self._target) from None
        check(response, CHANNEL, self._target)

    async def deliver(self, transition: Transition) -> None:
        async with self.lock:
            await self.post([self.payload(transition)])

    async def deliver_batch(self, transitions: Sequence[Transition]) -> None:
        async with self.lock:
            await self.post([self.payload(t) for t in transitions])

    async def resend(self, states: Sequence[AlertState]) -> None:
        """Re-send firing alerts so Alertmanager keeps them active."""
        firing = [s for s in states if s.status == "firing"]
        for start in range(0, len(firing), self._max_batch):
            chunk = firing[start : start + self._max_batch]
            await self.post([self.state_payload(s) for s in chunk])

    async def aclose(self) -> None:
        await self._client.aclose()


class FiringSource(Protocol):
    """Anything that lists the alerts firing now (e.g. `RedisAlertStore`)."""

    async def firing_states(self) -> list[AlertState]: ...


class AlertmanagerResender:
    """Re-sends every firing alert each `interval_seconds` (keep it well below the TTL)."""

    def __init__(
        self,
        store: FiringSource,
        notifier: AlertmanagerNotifier,
        interval_seconds: float = 60.0,
        on_result: OnResult | None = None,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._interval = interval_seconds
        self._on_result = on_result

    async def resend_once(self) -> int:
        async with self._notifier.lock:
            states: list[AlertState] = await self._store.firing_states()
            await self._notifier.resend(states)
        return len(states)

    async def run(self) -> None:
        """At start (re-announce after a restart), then every interval, until cancelled.

        A failed round is logged, counted and tried again next round.
        """
        while True:
            try:
                count = await self.resend_once()
            except Exception as error:  # a round must never kill the loop
                log.warning("alertmanager re-send failed", error=str(error))
                await report(self._on_result, CHANNEL, RESEND_FAILED)
            else:
                if count:
                    await report(self._on_result, CHANNEL, RESENT)
            await asyncio.sleep(self._interval)
