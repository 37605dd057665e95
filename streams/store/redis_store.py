"""The Redis adapter behind `KpiStore`: event log, offsets, counters, KPI snapshot.

A batch of consumed messages is applied by one Lua script call (one round
trip, atomic): redelivered offsets are skipped, duplicate `event_id`s are
counted and dropped, new events are stored with their counters and the
partition offsets that produced them. See `streams/store/keys.py` for the layout.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from importlib import resources
from typing import Protocol

import orjson
import redis.asyncio as aioredis

from streams.store.keys import KeyLayout
from streams.store.records import MessageRecord

_APPLY_BATCH = resources.files("streams.store").joinpath("apply_batch.lua").read_text()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class KpiStore(Protocol):
    """What the worker needs from durable state."""

    async def apply_batch(self, records: Sequence[MessageRecord]) -> list[int]: ...

    def stored_events(self) -> AsyncIterator[bytes]: ...

    async def applied_offsets(self) -> dict[tuple[str, int], int]: ...

    async def write_snapshot(self, payload: bytes) -> None: ...

    async def prune(self, location: str, before: float) -> int: ...


class RedisKpiStore:
    """`KpiStore` on one Redis (the script names keys itself, so not for Redis Cluster)."""

    def __init__(
        self, client: aioredis.Redis, prefix: str = "kpimon:", retention_seconds: float = 0
    ) -> None:
        self._redis = client
        self.keys = KeyLayout(prefix)
        self._retention = max(int(retention_seconds), 86400)
        self._apply = client.register_script(_APPLY_BATCH)

    async def apply_batch(self, records: Sequence[MessageRecord]) -> list[int]:
        """Apply a batch atomically; returns the 0-based positions of newly stored events."""
        if not records:
            return []
        meta = orjson.dumps(
            [
                (
                    r.topic,
                    str(r.partition),
                    str(r.offset),
                    r.event_id or "",
                    r.location,
                    repr(r.occurred_at),
                    r.label,
                )
                for r in records
            ]
        )
        args: list[str | bytes | int | float] = [self.keys.prefix, self._retention, meta]
        args.extend(r.payload for r in records)
        fresh = await self._apply(keys=[], args=args)
        return [int(position) - 1 for position in fresh]

    async def stored_events(self) -> AsyncIterator[bytes]:  # type: ignore[override]
        """Every stored event payload (network events first), for rebuilding the engine."""
        members = await self._redis.smembers(self.keys.locations)
        locations = sorted(_text(member) for member in members)
        for location in ["", *locations]:
            async for _event_id, payload in self._redis.hscan_iter(
                self.keys.events(location), count=2000
            ):
                yield payload

    async def applied_offsets(self) -> dict[tuple[str, int], int]:
        """`(topic, partition)` → the last offset whose message is reflected in the state."""
        raw = await self._redis.hgetall(self.keys.offsets)
        offsets: dict[tuple[str, int], int] = {}
        for field, value in raw.items():
            topic, _, partition = _text(field).rpartition(":")
            offsets[(topic, int(partition))] = int(value)
        return offsets

    async def write_snapshot(self, payload: bytes) -> None:
        await self._redis.set(self.keys.snapshot, payload)

    async def write_worker_status(self, payload: bytes) -> None:
        await self._redis.set(self.keys.worker_status, payload, ex=300)

    async def prune(self, location: str, before: float) -> int:
        """Drop a location's stored events older than `before` (epoch s); returns how many."""
        times_key = self.keys.event_times(location)
        old = await self._redis.zrangebyscore(times_key, "-inf", f"({before}")
        if not old:
            return 0
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.events(location), *old)
            pipe.zrem(times_key, *old)
            await pipe.execute()
        return len(old)

    @property
    def client(self) -> aioredis.Redis:
        return self._redis

    async def increment_counter(self, field: str, amount: int = 1) -> None:
        await self._redis.hincrby(self.keys.counters, field, amount)

    async def close(self) -> None:
        await self._redis.aclose()
