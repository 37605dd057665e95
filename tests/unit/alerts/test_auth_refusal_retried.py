"""A 401/403 from a receiver is retried with back-off like a 5xx; other 4xx stay permanent."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import httpx
import pytest
from aiohttp import web
from pydantic import SecretStr

from alerts.dispatcher import Backoff, Dispatcher
from alerts.model import Transition
from alerts.notifiers import DeliveryError
from alerts.notifiers.http import check
from alerts.notifiers.webhook import WebhookNotifier
from alerts.receiver import Inbox, build_app, serve
from alerts.store import OutboxEntry

SECRET = "auth-refusal-secret"


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        (400, True),
        (401, False),
        (403, False),
        (404, True),
        (405, True),
        (408, False),
        (409, True),
        (410, True),
        (413, True),
        (422, True),
        (425, False),
        (429, False),
        (500, False),
        (502, False),
        (503, False),
    ],
)
def test_http_status_classification(status: int, permanent: bool) -> None:
    """Which HTTP answers are refused for good (dead-lettered) and which are retried."""
    response = httpx.Response(status, text="receiver says no", request=httpx.Request("POST", "x"))
    with pytest.raises(DeliveryError) as error:
        check(response, "webhook", "http://hook.test/x")
    assert error.value.permanent is permanent
    assert f"HTTP {status}" in str(error.value)


@pytest.mark.parametrize("status", [401, 403])
def test_webhook_auth_refusal_is_retryable_and_says_why(status: int) -> None:
    """The webhook notifier raises a retryable error for 401/403 that hints at secret or clock."""
    client = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda _: httpx.Response(status, text="bad signature"))
    )
    notifier = WebhookNotifier("http://u:pw@hook.test/x?token=t0k", SecretStr(SECRET), client)
    with pytest.raises(DeliveryError) as error:
        asyncio.run(notifier.deliver(_transition("t")))
    assert not error.value.permanent
    assert "authentication refused" in str(error.value)
    assert "pw" not in str(error.value) and "t0k" not in str(error.value)


def _transition(ident: str) -> Transition:
    return Transition(
        id=ident, key=f"k-{ident}", fingerprint=f"fp-{ident}", status="firing",
        labels={"alertname": "InventoryStockout", "severity": "critical", "location": "DC1"},
        annotations={"summary": "out of stock"}, starts_at=100.0, ends_at=None, at=100.0,
    )  # fmt: skip


class ListOutbox:
    """An in-memory outbox with the Redis store's semantics (ack deletes, reject dead-letters)."""

    def __init__(self, *transitions: Transition) -> None:
        self.entries = [OutboxEntry(str(i), t) for i, t in enumerate(transitions)]
        self.dead: list[tuple[str, str]] = []

    async def peek(self, channel: str, count: int) -> list[OutboxEntry]:
        return self.entries[:count]

    async def wait(self, channel: str, timeout: float) -> None:
        await asyncio.sleep(0)

    async def ack(self, channel: str, entry_ids: Sequence[str]) -> None:
        self.entries = [e for e in self.entries if e.entry_id not in set(entry_ids)]

    async def reject(self, channel: str, entries: Sequence[OutboxEntry], reason: str) -> None:
        gone = {e.entry_id for e in entries}
        self.dead += [(e.transition.id, reason) for e in entries]
        self.entries = [e for e in self.entries if e.entry_id not in gone]

    async def acquire(self, channel: str, owner: str, ttl_seconds: float) -> bool:
        return True


@pytest.mark.parametrize(
    ("case", "receiver_secret", "skew_seconds"),
    [
        ("receiver clock 10 minutes fast", SECRET, 600.0),
        ("receiver clock 10 minutes slow", SECRET, -600.0),
        ("secret rotated on the receiver first", "the-next-secret", 0.0),
    ],
)
def test_page_refused_by_a_skewed_or_rotated_receiver_arrives_once_it_heals(
    case: str, receiver_secret: str, skew_seconds: float
) -> None:
    """Against the real receiver: 401s back off and retry; the page is delivered, not dropped."""

    async def scenario() -> tuple[list[str], list[tuple[str, str]], list[float], list[str]]:
        skew = [skew_seconds]
        keys = [receiver_secret]
        inbox = Inbox()

        def receiver_app() -> web.Application:
            return build_app(keys[0].encode(), inbox, clock=lambda: time.time() + skew[0])

        runner = await serve(receiver_app())
        port = runner.addresses[0][1]
        notifier = WebhookNotifier(f"http://127.0.0.1:{port}/webhook", SecretStr(SECRET))
        outbox = ListOutbox(_transition("page-1"), _transition("page-2"))
        sleeps: list[float] = []
        outcomes: list[str] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            if len(sleeps) == 3:  # after three refusals the receiver is fixed and restarted
                nonlocal runner
                skew[0] = 0.0
                keys[0] = SECRET
                await runner.cleanup()
                runner = await serve(receiver_app(), port=port)

        dispatcher = Dispatcher(
            outbox,  # type: ignore[arg-type]
            [notifier],
            on_result=lambda _channel, outcome: outcomes.append(outcome),
            backoff=Backoff(initial_seconds=1, factor=2, max_seconds=60, jitter=0),
            sleep=sleep,
        )
        try:
            await dispatcher.drain(notifier, max_attempts=20)
        finally:
            await notifier.aclose()
            await runner.cleanup()
        return [t["id"] for t in inbox.transitions], outbox.dead, sleeps, outcomes

    delivered, dead, sleeps, outcomes = asyncio.run(scenario())
    assert delivered == ["page-1", "page-2"], case
    assert dead == [], f"{case}: a page was dropped as refused for good"
    assert sleeps == [1, 2, 4], f"{case}: the normal back-off was not used"
    assert outcomes.count("failed") == 3 * 2 and outcomes.count("sent") == 2
