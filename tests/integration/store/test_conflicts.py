"""Conflicting duplicates in the real Redis: the same event_id with another payload (SPEC §3)."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest

from streams.store.records import MessageRecord, payload_digest
from streams.store.redis_store import RedisKpiStore

TODAY = int(time.time() // 86400)  # the events' UTC day: their dedup hashes live from it


def record(
    offset: int, event_id: str, payload: dict[str, Any], topic: str = "orders"
) -> MessageRecord:
    raw = orjson.dumps({"event_id": event_id, **payload})
    return MessageRecord(
        topic, 0, offset, event_id, raw, "order.placed", payload_digest(raw), TODAY
    )


async def counters(store: RedisKpiStore) -> dict[str, int]:
    raw: Any = await store.client.hgetall(store.keys.counters)
    return {key.decode(): int(value) for key, value in raw.items()}


def test_the_same_payload_again_is_a_duplicate_and_another_one_a_conflict(run_store: Any) -> None:
    """A byte-identical copy counts as a duplicate; other bytes under the id are a conflict."""
    first = record(0, "e-1", {"qty": 1})
    same = record(1, "e-1", {"qty": 1})
    other = record(2, "e-1", {"qty": 9})

    async def scenario(store: RedisKpiStore) -> None:
        assert (await store.apply_batch([first])).fresh == [0]
        outcome = await store.apply_batch([same, other])
        assert outcome.fresh == []
        assert [c.position for c in outcome.conflicts] == [1]
        assert outcome.conflicts[0].stored_digest == first.digest
        assert await counters(store) == {
            "events_total|orders|order.placed": 1,
            "events_duplicate_total|orders": 1,
            "events_invalid_total|orders|conflicting_duplicate": 1,
        }
        assert [p async for p in store.stored_events()] == [first.payload]

    run_store(scenario)


def test_a_conflict_inside_one_batch_is_found_too(run_store: Any) -> None:
    """Two payloads under one new id in one batch: the first is stored, the second conflicts."""
    batch = [record(0, "e-2", {"qty": 1}), record(1, "e-2", {"qty": 2}), record(2, "e-3", {})]

    async def scenario(store: RedisKpiStore) -> None:
        outcome = await store.apply_batch(batch)
        assert outcome.fresh == [0, 2]
        assert [(c.position, c.stored_digest) for c in outcome.conflicts] == [(1, batch[0].digest)]

    run_store(scenario)


def test_a_conflict_not_yet_dead_lettered_is_reported_again_on_redelivery(run_store: Any) -> None:
    """Pending until forgotten: a crash before the dead letter left is healed by the redelivery."""
    stored, conflicting = record(0, "e-4", {"qty": 1}), record(1, "e-4", {"qty": 5})

    async def scenario(store: RedisKpiStore) -> None:
        await store.apply_batch([stored])
        assert [c.position for c in (await store.apply_batch([conflicting])).conflicts] == [0]
        assert await store.pending_conflicts() == 1
        # The worker crashed before sending it: Kafka redelivers the batch.
        again = await store.apply_batch([conflicting])
        assert (again.fresh, [c.position for c in again.conflicts]) == ([], [0])
        await store.forget_conflicts([conflicting])
        assert await store.pending_conflicts() == 0
        # Sent and forgotten: a later redelivery is a plain redelivery.
        assert (await store.apply_batch([conflicting])).conflicts == []
        counted = await counters(store)
        assert counted["events_invalid_total|orders|conflicting_duplicate"] == 1

    run_store(scenario)


@pytest.mark.parametrize("ids", [0, 3, 2500])
def test_a_store_of_an_earlier_layout_is_read_and_its_ids_are_duplicates(
    run_store: Any, ids: int
) -> None:
    """`prepare` turns the old set of ids into a hash, read as duplicates until it expires."""

    async def scenario(store: RedisKpiStore) -> None:
        if ids:
            await store.client.sadd(store.keys.ids, *[f"old-{n}" for n in range(ids)])
        await store.prepare()
        await store.prepare()  # idempotent
        kind = (await store.client.type(store.keys.ids)).decode()
        assert kind == ("hash" if ids else "none")
        assert await store.client.hlen(store.keys.ids) == ids
        if ids:
            ttl = await store.client.ttl(store.keys.ids)
            assert 0 < ttl <= (store.dedup.horizon_days + 1) * 86400
        outcome = await store.apply_batch([record(0, "old-0", {"any": 1}), record(1, "new", {})])
        assert outcome.fresh == ([1] if ids else [0, 1])
        assert outcome.conflicts == []

    run_store(scenario)
