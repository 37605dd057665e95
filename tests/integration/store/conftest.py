"""The event store against the real Redis of the local stack, one key prefix per test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
import redis
import redis.asyncio as aioredis

from streams.store.redis_store import RedisKpiStore

T = TypeVar("T")
StoreRunner = Callable[[Callable[[RedisKpiStore], Awaitable[T]]], T]


@pytest.fixture
def key_prefix(local_stack: Any) -> Iterator[str]:
    """A Redis key prefix of this test only; its keys are deleted afterwards."""
    prefix = f"kpimon-test-store-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(local_stack.redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for first in range(0, len(keys), 1000):
        client.delete(*keys[first : first + 1000])
    client.close()


@pytest.fixture
def run_store(local_stack: Any, key_prefix: str) -> StoreRunner[Any]:
    """Run `scenario(store)` on a fresh event loop with a store on this test's prefix."""

    def run(scenario: Callable[[RedisKpiStore], Awaitable[T]]) -> T:
        async def main() -> T:
            store = RedisKpiStore(aioredis.Redis.from_url(local_stack.redis_url), key_prefix)
            try:
                return await scenario(store)
            finally:
                await store.close()

        return asyncio.run(main())

    return run
