"""Alert state and outbox in the real Redis: atomic commits; restarts neither re-page nor lose."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from alerts.links import Links
from alerts.pipeline import evaluate_engine
from alerts.rules import load_rules
from alerts.store import RedisAlertStore

CHANNELS = ("alertmanager", "webhook", "kafka")
LINKS = Links()


def _store(url: str, prefix: str) -> RedisAlertStore:
    return RedisAlertStore(aioredis.Redis.from_url(url), CHANNELS, prefix=prefix)


def test_commit_then_restart_neither_repages_nor_loses(
    local_stack: Any, key_prefix: str, make_view: Callable[..., Any], source: Any
) -> None:
    """A restarted worker loads the firing state: the same stockout does not page again."""
    rules = load_rules(None)
    engine = source(views=[make_view("DC1", "SKU-1")])

    async def scenario() -> None:
        first = _store(local_stack.redis_url, key_prefix)
        result = evaluate_engine(rules, engine, {}, ["DC1"], LINKS)
        assert [(t.status, t.alertname) for t in result.transitions] == [
            ("firing", "InventoryStockout")
        ]
        await first.commit(result.changes, result.transitions)

        restarted = _store(local_stack.redis_url, key_prefix)
        states = await restarted.load_states()
        assert states == result.states
        again = evaluate_engine(rules, engine, states, ["DC1"], LINKS)
        assert again.transitions == [] and again.changes == {}
        await restarted.commit(again.changes, again.transitions)
        for channel in CHANNELS:
            queued = await restarted.peek(channel, 10)
            assert [e.transition for e in queued] == result.transitions
        restocked = source(
            views=[
                make_view("DC1", "SKU-1", stocked_out=False, on_hand=40, projected_stockout_at=None)
            ]
        )
        cleared = evaluate_engine(rules, restocked, states, ["DC1"], LINKS)
        await restarted.commit(cleared.changes, cleared.transitions)
        statuses = [e.transition.status for e in await restarted.peek("webhook", 10)]
        assert statuses == ["firing", "resolved"]
        stored = await restarted.load_states()
        assert [s.status for s in stored.values()] == ["resolved"]  # kept for its cooldown

    asyncio.run(scenario())


def test_an_interrupted_commit_writes_nothing(
    local_stack: Any, key_prefix: str, make_view: Callable[..., Any], source: Any
) -> None:
    """A worker dying before EXEC leaves neither a state nor a queued transition behind."""
    rules = load_rules(None)
    result = evaluate_engine(rules, source(views=[make_view("DC1", "SKU-1")]), {}, ["DC1"], LINKS)

    async def scenario() -> None:
        store = _store(local_stack.redis_url, key_prefix)
        client = aioredis.Redis.from_url(local_stack.redis_url)
        pipe = client.pipeline(transaction=True)
        store.stage(pipe, result.changes, result.transitions)
        await pipe.reset()  # the process dies here: MULTI was never executed
        assert await store.load_states() == {}
        assert await store.peek("alertmanager", 10) == []
        await store.commit(result.changes, result.transitions)  # the retried batch
        assert len(await store.load_states()) == 1
        assert len(await store.peek("alertmanager", 10)) == 1

    asyncio.run(scenario())


def test_ack_reject_and_lease(
    local_stack: Any, key_prefix: str, make_view: Callable[..., Any], source: Any
) -> None:
    """Acked entries go, refused ones move to the dead letters, one dispatcher holds a lease."""
    rules = load_rules(None)
    views = [make_view("DC1", f"SKU-{n}") for n in range(3)]
    result = evaluate_engine(rules, source(views=views), {}, ["DC1"], LINKS)

    async def scenario() -> None:
        store = _store(local_stack.redis_url, key_prefix)
        await store.commit(result.changes, result.transitions)
        first, second, third = await store.peek("webhook", 10)
        await store.ack("webhook", [first.entry_id])
        await store.reject("webhook", [second], "webhook: HTTP 400: bad")
        assert [e.entry_id for e in await store.peek("webhook", 10)] == [third.entry_id]
        assert await store.backlog("alertmanager") == 3  # channels are independent
        client = aioredis.Redis.from_url(local_stack.redis_url)
        dead: Any = await client.xrange(store.dead_key("webhook"))
        assert len(dead) == 1 and dead[0][1][b"reason"] == b"webhook: HTTP 400: bad"
        assert await store.acquire("webhook", "worker-a", 5)
        assert not await store.acquire("webhook", "worker-b", 5)
        assert await store.acquire("webhook", "worker-a", 5)  # renewal

    asyncio.run(scenario())
