"""The event store against the real Redis of the local stack, one key prefix per test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis

from streams.store.redis_store import RedisKpiStore

T = TypeVar("T")
StoreRunner = Callable[[Callable[[RedisKpiStore], Awaitable[T]]], T]


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
