"""Signed webhooks reach a real loopback receiver through 500s, timeouts and outages, once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import redis.asyncio as aioredis
from aiohttp import web
from pydantic import SecretStr

from alerts.dispatcher import Backoff, Dispatcher
from alerts.links import Links
from alerts.notifiers.webhook import WebhookNotifier, webhook_body
from alerts.pipeline import evaluate_engine
from alerts.receiver import Inbox, build_app, serve
from alerts.rules import load_rules
from alerts.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from alerts.store import RedisAlertStore

SECRET = "integration-webhook-secret"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _port(runner: web.AppRunner) -> int:
    port: int = runner.addresses[0][1]
    return port


async def _queue_stockouts(
    url: str, prefix: str, source: Any, make_view: Callable[..., Any], count: int
) -> tuple[RedisAlertStore, list[str]]:
    store = RedisAlertStore(aioredis.Redis.from_url(url), ["webhook"], prefix=prefix)
    views = [make_view("DC1", f"SKU-{n:03d}") for n in range(count)]
    result = evaluate_engine(load_rules(None), source(views=views), {}, ["DC1"], Links())
    await store.commit(result.changes, result.transitions)
    return store, [t.id for t in result.transitions]


def test_arrives_once_after_500s_and_a_timeout(
    local_stack: Any, key_prefix: str, make_view: Callable[..., Any], source: Any
) -> None:
    """Two 500s and a hung request later, every transition has arrived, verified, exactly once."""
    faults = {"fail": 2, "hang": 1}

    @web.middleware
    async def chaos(request: web.Request, handler: Handler) -> web.StreamResponse:
        if faults["fail"] > 0:
            faults["fail"] -= 1
            return web.Response(status=500, text="boom")
        if faults["hang"] > 0:
            faults["hang"] -= 1
            await asyncio.sleep(2.0)
            return web.Response(status=503)
        return await handler(request)

    async def scenario() -> None:
        inbox = Inbox()
        runner = await serve(build_app(SECRET.encode(), inbox, middlewares=[chaos]))
        try:
            store, ids = await _queue_stockouts(
                local_stack.redis_url, key_prefix, source, make_view, 3
            )
            notifier = WebhookNotifier(
                f"http://127.0.0.1:{_port(runner)}/webhook", SecretStr(SECRET), timeout_seconds=0.5
            )
            outcomes: list[str] = []
            dispatcher = Dispatcher(
                store,
                [notifier],
                on_result=lambda channel, outcome: outcomes.append(outcome),
                backoff=Backoff(initial_seconds=0.05, max_seconds=0.2),
            )
            assert await dispatcher.drain(notifier) == 3
            assert [t["id"] for t in inbox.transitions] == ids
            assert inbox.rejected == []
            assert outcomes == ["failed"] * 9 + ["sent"] * 3
            assert await store.backlog("webhook") == 0
            assert all(t["status"] == "firing" for t in inbox.transitions)
        finally:
            await runner.cleanup()

    asyncio.run(scenario())


def test_nothing_lost_across_a_receiver_outage(
    local_stack: Any, key_prefix: str, make_view: Callable[..., Any], source: Any
) -> None:
    """Transitions queued while the receiver is down arrive, in order, once it is back."""

    async def scenario() -> None:
        inbox = Inbox()
        runner = await serve(build_app(SECRET.encode(), inbox))
        port = _port(runner)
        await runner.cleanup()  # the receiver goes down before anything is sent
        store, ids = await _queue_stockouts(local_stack.redis_url, key_prefix, source, make_view, 5)
        notifier = WebhookNotifier(
            f"http://127.0.0.1:{port}/webhook", SecretStr(SECRET), timeout_seconds=1.0
        )
        outcomes: list[str] = []
        dispatcher = Dispatcher(
            store,
            [notifier],
            on_result=lambda channel, outcome: outcomes.append(outcome),
            backoff=Backoff(initial_seconds=0.1, max_seconds=0.4),
            idle_wait_seconds=0.2,
        )
        task = asyncio.create_task(dispatcher.run_channel(notifier))
        try:
            await asyncio.sleep(1.5)
            assert inbox.transitions == []
            assert await store.backlog("webhook") == 5
            assert outcomes and set(outcomes) == {"failed"}
            back = await serve(build_app(SECRET.encode(), inbox), port=port)
            try:
                deadline = time.monotonic() + 15
                while len(inbox.transitions) < 5 and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                assert [t["id"] for t in inbox.transitions] == ids
                assert outcomes.count("sent") == 5
                assert await store.backlog("webhook") == 0
            finally:
                await back.cleanup()
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(scenario())


def test_receiver_rejects_replays_and_forgeries() -> None:
    """An old timestamp, a tampered body or a wrong secret gets 401; a fresh one is accepted."""

    async def scenario() -> None:
        inbox = Inbox()
        runner = await serve(build_app(SECRET.encode(), inbox))
        url = f"http://127.0.0.1:{_port(runner)}/webhook"
        body = webhook_body([])

        def signed(timestamp: int, secret: str = SECRET) -> dict[str, str]:
            return {
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: sign(secret.encode(), str(timestamp), body),
                "Content-Type": "application/json",
            }

        now = int(time.time())
        try:
            async with httpx.AsyncClient() as client:
                old = await client.post(url, content=body, headers=signed(now - 301))
                tampered = await client.post(url, content=body + b" ", headers=signed(now))
                forged = await client.post(url, content=body, headers=signed(now, "guess"))
                unsigned = await client.post(url, content=body)
                fresh = await client.post(url, content=body, headers=signed(now))
        finally:
            await runner.cleanup()
        assert [r.status_code for r in (old, tampered, forged, unsigned)] == [401] * 4
        assert "tolerance" in old.json()["error"]
        assert fresh.status_code == 200 and fresh.json() == {"accepted": 0, "duplicates": 0}
        assert SECRET not in " ".join(inbox.rejected)

    asyncio.run(scenario())
