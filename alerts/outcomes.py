"""Delivery outcomes, reported through the worker's `on_result(channel, outcome)` callback.

The worker maps them to `kpimon_alerts_sent_total{channel,outcome}`. The
callback may be a plain function or a coroutine function; it is called once
per transition (per re-send round for `resent`/`resend_failed`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

SENT = "sent"  # a transition accepted by the channel
FAILED = "failed"  # one failed attempt; the transition stays queued and is retried
REJECTED = "rejected"  # refused for good (4xx): moved to the channel's dead-letter stream
RESENT = "resent"  # a round of Alertmanager re-sends of the firing alerts succeeded
RESEND_FAILED = "resend_failed"  # a round of re-sends failed (tried again next round)
OUTCOMES = (SENT, FAILED, REJECTED, RESENT, RESEND_FAILED)

OnResult = Callable[[str, str], Awaitable[None] | None]


async def report(on_result: OnResult | None, channel: str, outcome: str, times: int = 1) -> None:
    """Call `on_result` `times` times; a failing callback is logged, never raised."""
    if on_result is None:
        return
    for _ in range(times):
        try:
            pending = on_result(channel, outcome)
            if pending is not None:
                await pending
        except Exception as error:
            log.warning("alert outcome not counted", channel=channel, error=str(error))
