"""Checkpoints of the KPI state in the real Redis: incremental, atomic, swept after a crash."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from streams.store.checkpoints import (
    Checkpoint,
    StaleCheckpoint,
    read_checkpoint,
    sweep_orphans,
    write_checkpoint,
)
from streams.store.redis_store import RedisKpiStore


@pytest.fixture
def sync(local_stack: Any) -> redis.Redis:
    return redis.Redis.from_url(local_stack.redis_url)


def test_a_checkpoint_reads_back_and_the_next_writes_only_what_changed(
    run_store: Any, sync: redis.Redis
) -> None:
    """Unchanged locations keep their blob; changed ones and the global part are replaced."""

    async def scenario(store: RedisKpiStore) -> None:
        keys = store.keys
        assert await read_checkpoint(store.client, keys) == Checkpoint()  # none yet
        write_checkpoint(sync, keys, "10-0", b"g1", {"DC-1": b"a1", "DC/2": b"b1"})
        first = await read_checkpoint(store.client, keys)
        assert (first.applied, first.global_blob, first.locations) == (
            "10-0", b"g1", {"DC-1": b"a1", "DC/2": b"b1"},
        )  # fmt: skip
        write_checkpoint(sync, keys, "20-0", None, {"DC/2": b"b2"})
        second = await read_checkpoint(store.client, keys)
        assert (second.applied, second.global_blob, second.locations) == (
            "20-0", b"g1", {"DC-1": b"a1", "DC/2": b"b2"},
        )  # fmt: skip
        # The superseded blob is gone; one blob per location is left.
        names = [k async for k in store.client.scan_iter(keys.state_location_pattern)]
        assert len(names) == 2

    run_store(scenario)


def test_a_writer_that_dies_before_the_switch_leaves_the_previous_checkpoint(
    run_store: Any, sync: redis.Redis
) -> None:
    """Blobs written without the final switch change nothing, and the next start sweeps them."""

    async def scenario(store: RedisKpiStore) -> None:
        keys = store.keys
        write_checkpoint(sync, keys, "10-0", b"g1", {"DC-1": b"a1"})
        # What a crashed writer leaves: a new version's blobs, no switch.
        version = int(sync.hincrby(keys.state_meta, "version", 1))
        sync.set(keys.state_location(version, "DC-1"), b"half")
        sync.set(keys.state_location(version, "DC-9"), b"half")
        sync.set(keys.state_global(version), b"half")
        kept = await read_checkpoint(store.client, keys)
        assert (kept.applied, kept.locations) == ("10-0", {"DC-1": b"a1"})
        assert await sweep_orphans(store.client, keys) == 3
        assert await sweep_orphans(store.client, keys) == 0
        after = await read_checkpoint(store.client, keys)
        assert (after.global_blob, after.locations) == (b"g1", {"DC-1": b"a1"})

    run_store(scenario)


def test_a_missing_blob_is_an_error_not_an_empty_location(
    run_store: Any, sync: redis.Redis
) -> None:
    """A manifest pointing to a blob that is gone fails loudly rather than forget a location."""

    async def scenario(store: RedisKpiStore) -> None:
        keys = store.keys
        version = write_checkpoint(sync, keys, "10-0", b"g", {"DC-1": b"a"})
        sync.delete(keys.state_location(version, "DC-1"))
        with pytest.raises(RuntimeError, match="DC-1"):
            await read_checkpoint(store.client, keys)

    run_store(scenario)


def test_a_late_writer_never_takes_the_state_back(run_store: Any, sync: redis.Redis) -> None:
    """A checkpoint older than the one in place is refused, and its blobs are dropped."""

    async def scenario(store: RedisKpiStore) -> None:
        keys = store.keys
        write_checkpoint(sync, keys, "1700000000000-5", b"new", {"DC-1": b"new"})
        with pytest.raises(StaleCheckpoint):
            write_checkpoint(sync, keys, "1700000000000-4", b"old", {"DC-1": b"old"})
        kept = await read_checkpoint(store.client, keys)
        assert (kept.applied, kept.global_blob, kept.locations) == (
            "1700000000000-5", b"new", {"DC-1": b"new"},
        )  # fmt: skip
        assert await sweep_orphans(store.client, keys) == 0  # nothing of the late one left
        write_checkpoint(sync, keys, "1700000000001-0", None, {"DC-1": b"newer"})
        assert (await read_checkpoint(store.client, keys)).locations == {"DC-1": b"newer"}

    run_store(scenario)
