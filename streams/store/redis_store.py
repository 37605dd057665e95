"""The Redis adapter behind `KpiStore`: event log, offsets, counters, KPI snapshot.

A batch of consumed messages is applied in one round trip, atomically (MULTI:
the batch's payloads are staged, then one Lua script call): redelivered
offsets are skipped, duplicate `event_id`s (across all locations, and within
the batch) are counted and dropped, and the batch's new events become one log
entry, with their counters and the partition offsets that produced them. See
`streams/store/keys.py` for the layout.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from operator import attrgetter
from typing import Any, NamedTuple, Protocol

import msgspec
import redis
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError
from xxhash import xxh3_64_intdigest

from streams.store.checkpoints import (
    Checkpoint,
    read_checkpoint,
    sweep_orphans,
    write_checkpoint,
)
from streams.store.keys import KeyLayout, counter_field
from streams.store.log import LogBatch, read_log, trim_log
from streams.store.records import LATE, MessageRecord

CONFLICT = "conflicting_duplicate"

_SCRIPTS = resources.files("streams.store")
_APPLY_BATCH = _SCRIPTS.joinpath("apply_batch.lua").read_text()
# A set of ids (the layout before payload digests) becomes a hash of unknown digests.
_MIGRATE_IDS = """
if redis.call('TYPE', KEYS[1]).ok ~= 'set' then return 0 end
redis.call('DEL', KEYS[2])
local cursor, moved = '0', 0
repeat
  local page = redis.call('SSCAN', KEYS[1], cursor, 'COUNT', 1000)
  cursor = page[1]
  local pairs_ = {}
  for _, id in ipairs(page[2]) do
    pairs_[#pairs_ + 1] = id
    pairs_[#pairs_ + 1] = ''
  end
  if #pairs_ > 0 then
    redis.call('HSET', KEYS[2], unpack(pairs_))
    moved = moved + #page[2]
  end
until cursor == '0'
redis.call('RENAME', KEYS[2], KEYS[1])
return moved
"""
_ENCODE = msgspec.msgpack.Encoder().encode


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


_EVENT_ID = attrgetter("event_id")
_OFFSET = attrgetter("offset")
_PAYLOAD = attrgetter("payload")
_DIGEST = attrgetter("digest")
_REPLY = msgspec.msgpack.Decoder(tuple[list[int], list[tuple[int, str]], str, int])
DAY = 86400


class _Packed(NamedTuple):
    payloads: bytes  # staged: msgpack array of the valid records' payloads
    args: tuple[bytes, bytes, bytes, bytes]  # ARGV of apply_batch.lua
    rejected: list[int]  # positions of the records with no event_id


class Conflict(NamedTuple):
    """A conflicting duplicate the store refused: its 0-based position in the batch and
    the digest of the payload stored first under its event_id."""

    position: int
    stored_digest: str


class BatchOutcome(NamedTuple):
    """What `apply_batch` did: the positions of the events stored for the first time,
    the conflicting duplicates to dead-letter (then `forget_conflicts`), and the id of
    the log entry holding the fresh events ('' when there are none)."""

    fresh: list[int]
    conflicts: list[Conflict]
    entry: str = ""
    clock: int = -1  # the dedup clock after the batch (the latest event day stored)


FINGERPRINT_MASK = (1 << 63) - 1  # a signed 64-bit integer: Redis stores it as one


def fingerprint(event_id: str) -> int:
    """The 63-bit fingerprint of an event_id kept for dedup (xxh3; 1 in 2**63 collide)."""
    return xxh3_64_intdigest(event_id.encode()) & FINGERPRINT_MASK


@dataclass(frozen=True, slots=True)
class DedupLayout:
    """Where the ids are kept: `slots` hashes per event day, for `horizon_days` days behind
    the dedup clock, the latest event day stored (see apply_batch.lua)."""

    slots: int = 4096
    horizon_days: int = 30

    def oldest_day(self, clock: int) -> int | None:
        """The oldest event day still deduplicated at dedup clock `clock` (None: any)."""
        return None if clock < 0 else clock - self.horizon_days


def store_from(settings: Any) -> RedisKpiStore:
    """The store of a `streams.settings.Settings`: its Redis, prefix and dedup layout."""
    from streams.store.connection import async_client, sync_client

    return RedisKpiStore(
        async_client(settings.redis),
        settings.redis.key_prefix,
        dedup_layout(settings),
        connect_sync=lambda: sync_client(settings.redis),
    )


def dedup_layout(settings: Any) -> DedupLayout:
    """From a `streams.settings.Settings` (typed Any: the store does not import settings)."""
    return DedupLayout(
        slots=settings.state.dedup_slots, horizon_days=math.ceil(settings.dedup_horizon() / DAY)
    )


def _dedup_columns(valid: Sequence[MessageRecord], slots: int) -> tuple[list[str], list[int]]:
    prints = [fingerprint(r.event_id) for r in valid]  # type: ignore[arg-type]
    return (
        [str(p) for p in prints],
        [r.day * slots + p % slots for r, p in zip(valid, prints, strict=True)],
    )


def _pack_batch(records: Sequence[MessageRecord], dedup: DedupLayout, ids_prefix: str) -> _Packed:
    """What apply_batch.lua needs for a non-empty batch (see its header).

    Records are grouped by (topic, partition, label, rejected): one dict lookup
    per record, the rest is per group or a C-level pass (this runs for every
    message the worker consumes). Partitions and counter fields go once and are
    referenced by 1-based (Lua) index; the summary lets the script apply the
    usual batch (nothing redelivered or duplicate) without a per-message loop.
    """
    groups: dict[tuple[str, int, str, bool], int] = {}
    group_of = [
        groups.setdefault((r.topic, r.partition, r.label, r.event_id is None), len(groups))
        for r in records
    ]
    tp_index: dict[tuple[str, int], int] = {}
    field_index: dict[tuple[str, str, bool], int] = {}
    group_tp = [tp_index.setdefault((g[0], g[1]), len(tp_index) + 1) for g in groups]
    group_field = [field_index.setdefault((g[0], g[2], g[3]), len(field_index) + 1) for g in groups]
    tp_of = list(map(group_tp.__getitem__, group_of))
    field_of = list(map(group_field.__getitem__, group_of))
    offset_of = list(map(_OFFSET, records))
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    ordered = True
    for t, offset in zip(tp_of, offset_of, strict=True):
        previous = last.get(t)
        if previous is None:
            first[t] = offset
        elif offset <= previous:
            ordered = False
        last[t] = offset
    per_field = [0] * (len(field_index) + 1)
    for g, n in Counter(group_of).items():
        per_field[group_field[g]] += n
    event_ids = list(map(_EVENT_ID, records))
    rejected: list[int] = []
    if None in event_ids:
        rejected = [i for i, event_id in enumerate(event_ids) if event_id is None]
        valid = [r for r in records if r.event_id is not None]
        ids = [event_id for event_id in event_ids if event_id is not None]
    else:
        valid, ids = list(records), event_ids
    summary = (
        [f"{topic}:{partition}" for topic, partition in tp_index],
        [counter_field("events_duplicate_total", topic) for topic, _ in tp_index],
        [first[t] for t in range(1, len(tp_index) + 1)],
        [last[t] for t in range(1, len(tp_index) + 1)],
        ordered,
        [
            counter_field("events_late_total", topic)
            if label == LATE
            else counter_field("events_invalid_total" if bad else "events_total", topic, label)
            for topic, label, bad in field_index
        ],
        [not bad for _, _, bad in field_index],
        per_field[1:],
        len(set(ids)) < len(ids),
        [counter_field("events_invalid_total", topic, CONFLICT) for topic, _ in tp_index],
        ids_prefix,
        dedup.slots,
        dedup.horizon_days,
        max((r.day for r in valid), default=-1),
    )
    prints, slot_keys = _dedup_columns(valid, dedup.slots)
    return _Packed(
        _ENCODE(list(map(_PAYLOAD, valid))),
        (
            _ENCODE(summary),
            _ENCODE(ids),
            _ENCODE((tp_of, offset_of, field_of)),
            _ENCODE((list(map(_DIGEST, valid)), prints, slot_keys)),
        ),
        rejected,
    )


def _fresh_positions(count: int, rejected: list[int], not_fresh: list[int]) -> list[int]:
    """The positions of the valid records, less those the script reports not stored."""
    if not rejected and not not_fresh:
        return list(range(count))
    skipped = {*rejected, *not_fresh}
    return [i for i in range(count) if i not in skipped]


class KpiStore(Protocol):
    """What the worker's ingest needs from durable state."""

    async def prepare(self) -> None: ...

    async def dedup_clock(self) -> int: ...

    async def pending_conflicts(self) -> int: ...

    async def apply_batch(self, records: Sequence[MessageRecord]) -> BatchOutcome: ...

    async def forget_conflicts(self, records: Sequence[MessageRecord]) -> None: ...

    async def applied_offsets(self) -> dict[tuple[str, int], int]: ...


class RedisKpiStore:
    """`KpiStore` on one Redis: offsets, dedup, the event log, counters, snapshots.

    The event log holds the events applied since the KPI state's last checkpoint
    (`streams.store.checkpoints`): the KPI process replays it at start and trims
    it once a checkpoint covers it. Dedup is by event day (`DedupLayout`). The
    scripts derive key names, so this is not for Redis Cluster yet.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str = "kpimon:",
        dedup: DedupLayout | None = None,
        connect_sync: Callable[[], redis.Redis] | None = None,
    ) -> None:
        """`connect_sync` opens a synchronous connection for checkpoint writers."""
        self._redis = client
        self._connect_sync = connect_sync
        self.keys = KeyLayout(prefix)
        self.dedup = dedup or DedupLayout()
        self._apply = client.register_script(_APPLY_BATCH)
        keys = self.keys
        self._apply_keys = (
            keys.offsets, keys.counters, keys.log, keys.log_staging,
            keys.dead_letters_pending, keys.ids, keys.ids_clock,
        )  # fmt: skip
        self._migrate_ids = client.register_script(_MIGRATE_IDS)

    async def prepare(self) -> None:
        """Bring a store written by an earlier version to this layout (idempotent).

        The ids of earlier versions (one set, then one hash of every stored id) are
        read as duplicates while they last: they expire a dedup horizon from now,
        by when every event they name is older than the horizon anyway.
        """
        await self._migrate_ids(keys=[self.keys.ids, self.keys.ids + ":migrating"])
        await self._redis.expire(self.keys.ids, (self.dedup.horizon_days + 1) * DAY, nx=True)

    async def apply_batch(self, records: Sequence[MessageRecord]) -> BatchOutcome:
        """Apply a batch atomically: newly stored events, conflicts, the log entry."""
        if not records:
            return BatchOutcome([], [])
        packed = _pack_batch(records, self.dedup, self.keys.ids_slot_prefix)
        reply = await self._apply_staged(packed.payloads, packed.args)
        not_fresh, conflicts, entry, clock = _REPLY.decode(reply)
        return BatchOutcome(
            _fresh_positions(len(records), packed.rejected, not_fresh),
            [Conflict(position, digest) for position, digest in conflicts],
            entry,
            clock,
        )

    async def dedup_clock(self) -> int:
        """The latest event day stored (-1 for a new store): the dedup horizon follows it."""
        day: Any = await self._redis.hget(self.keys.ids_clock, "day")
        return int(day) if day is not None else -1

    async def forget_conflicts(self, records: Sequence[MessageRecord]) -> None:
        """The conflicts of these records reached the dead-letter topic: no longer pending."""
        if records:
            fields = [f"{r.topic}:{r.partition}:{r.offset}" for r in records]
            await self._redis.hdel(self.keys.dead_letters_pending, *fields)

    async def pending_conflicts(self) -> int:
        """Conflicts noted but not yet dead-lettered (left by a crash; sent on redelivery)."""
        return int(await self._redis.hlen(self.keys.dead_letters_pending))

    async def _apply_staged(self, payloads: bytes, args: tuple[bytes, ...]) -> Any:
        """Stage the payloads and run the script on them in one MULTI (loading it once)."""
        for attempt in (1, 2):
            try:
                async with self._redis.pipeline(transaction=True) as pipe:
                    pipe.set(self.keys.log_staging, payloads)
                    pipe.evalsha(self._apply.sha, len(self._apply_keys), *self._apply_keys, *args)
                    _, reply = await pipe.execute()
                return reply
            except NoScriptError:
                # Redis restarted or flushed its script cache; the staged value is
                # overwritten by the retry, and nothing else ran.
                if attempt == 2:
                    raise
                await self._redis.script_load(_APPLY_BATCH)
        raise AssertionError("unreachable")

    def read_log(self, after: str | None = None) -> AsyncIterator[LogBatch]:
        """The log's batches after entry `after` (all when None), in the order stored."""
        return read_log(self._redis, self.keys, after)

    async def stored_events(self) -> AsyncIterator[bytes]:
        """Every payload in the log, in the order stored."""
        async for batch in self.read_log():
            for payload in batch.payloads:
                yield payload

    async def trim_log(self, upto: str) -> int:
        """Drop the log entries up to `upto` (a checkpoint covers them); how many events."""
        return await trim_log(self._redis, self.keys, upto)

    async def read_checkpoint(self) -> Checkpoint:
        return await read_checkpoint(self._redis, self.keys)

    async def sweep_checkpoints(self) -> int:
        return await sweep_orphans(self._redis, self.keys)

    def checkpoint_writer(self) -> Callable[[str, bytes | None, dict[str, bytes], int], int]:
        """Writes one checkpoint on a synchronous connection of its own, then closes it."""
        if self._connect_sync is None:
            raise RuntimeError("this store was built without a synchronous connection")
        client = self._connect_sync()
        keys = self.keys

        def write(
            applied: str, global_blob: bytes | None, blobs: dict[str, bytes], events: int
        ) -> int:
            try:
                return write_checkpoint(client, keys, applied, global_blob, blobs, events)
            finally:
                client.close()

        return write

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

    @property
    def client(self) -> aioredis.Redis:
        return self._redis

    async def increment_counter(self, field: str, amount: int = 1) -> None:
        await self._redis.hincrby(self.keys.counters, field, amount)

    async def close(self) -> None:
        await self._redis.aclose()
