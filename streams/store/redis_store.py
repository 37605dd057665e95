"""The Redis adapter behind `KpiStore`: event log, offsets, counters, KPI snapshot.

A batch of consumed messages is applied in one round trip, atomically (MULTI:
the batch's payloads are staged, then one Lua script call): redelivered
offsets are skipped, duplicate `event_id`s (across all locations, and within
the batch) are counted and dropped, and the batch's new events become one log
entry, with their counters and the partition offsets that produced them. See
`streams/store/keys.py` for the layout.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Sequence
from importlib import resources
from operator import attrgetter
from typing import Any, NamedTuple, Protocol

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from streams.store.keys import KeyLayout, counter_field
from streams.store.records import MessageRecord

CONFLICT = "conflicting_duplicate"

_SCRIPTS = resources.files("streams.store")
_APPLY_BATCH = _SCRIPTS.joinpath("apply_batch.lua").read_text()
_PRUNE = _SCRIPTS.joinpath("prune.lua").read_text()
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
_PAYLOADS = msgspec.msgpack.Decoder(list[bytes])
# Log entries read per page when rebuilding: an entry holds a whole batch.
LOG_PAGE_ENTRIES = 8
# Log entries dropped per prune script call, so one call never blocks Redis long.
PRUNE_PAGE_ENTRIES = 16


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


_EVENT_ID = attrgetter("event_id")
_OFFSET = attrgetter("offset")
_PAYLOAD = attrgetter("payload")
_DIGEST = attrgetter("digest")
_REPLY = msgspec.msgpack.Decoder(tuple[list[int], list[tuple[int, str]]])


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
    and the conflicting duplicates to dead-letter (then `forget_conflicts`)."""

    fresh: list[int]
    conflicts: list[Conflict]


def _pack_batch(records: Sequence[MessageRecord]) -> _Packed:
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
            counter_field("events_invalid_total" if bad else "events_total", topic, label)
            for topic, label, bad in field_index
        ],
        [not bad for _, _, bad in field_index],
        per_field[1:],
        len(set(ids)) < len(ids),
        [counter_field("events_invalid_total", topic, CONFLICT) for topic, _ in tp_index],
    )
    return _Packed(
        _ENCODE(list(map(_PAYLOAD, valid))),
        (
            _ENCODE(summary),
            _ENCODE(ids),
            _ENCODE((tp_of, offset_of, field_of)),
            _ENCODE(list(map(_DIGEST, valid))),
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
    """What the worker needs from durable state."""

    async def prepare(self) -> None: ...

    async def pending_conflicts(self) -> int: ...

    async def apply_batch(self, records: Sequence[MessageRecord]) -> BatchOutcome: ...

    async def forget_conflicts(self, records: Sequence[MessageRecord]) -> None: ...

    def stored_events(self) -> AsyncIterator[bytes]: ...

    async def applied_offsets(self) -> dict[tuple[str, int], int]: ...

    async def write_snapshot(self, payload: bytes) -> None: ...

    async def prune(self, before: float) -> int: ...


class RedisKpiStore:
    """`KpiStore` on one Redis (the scripts derive payload key names: not for Redis Cluster).

    `retention_seconds` is for the caller's prune timer, which calls
    `prune(time.time() - store.retention_seconds)`; nothing expires by itself.
    """

    def __init__(
        self, client: aioredis.Redis, prefix: str = "kpimon:", retention_seconds: float = 0
    ) -> None:
        self._redis = client
        self.keys = KeyLayout(prefix)
        self.retention_seconds = float(retention_seconds)
        self._apply = client.register_script(_APPLY_BATCH)
        self._prune = client.register_script(_PRUNE)
        keys = self.keys
        self._apply_keys = (
            keys.offsets, keys.counters, keys.ids, keys.log, keys.log_staging,
            keys.dead_letters_pending,
        )  # fmt: skip
        self._migrate_ids = client.register_script(_MIGRATE_IDS)

    async def prepare(self) -> None:
        """Bring a store written by an earlier version to this layout (idempotent).

        Before conflicts were told from duplicates (SPEC §3), `ids` was a set; it
        becomes a hash whose digests are unknown (''), read as "a duplicate".
        """
        await self._migrate_ids(keys=[self.keys.ids, self.keys.ids + ":migrating"])

    async def apply_batch(self, records: Sequence[MessageRecord]) -> BatchOutcome:
        """Apply a batch atomically: the positions of newly stored events, and conflicts."""
        if not records:
            return BatchOutcome([], [])
        packed = _pack_batch(records)
        reply = await self._apply_staged(packed.payloads, packed.args)
        not_fresh, conflicts = _REPLY.decode(reply)
        return BatchOutcome(
            _fresh_positions(len(records), packed.rejected, not_fresh),
            [Conflict(position, digest) for position, digest in conflicts],
        )

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

    async def stored_events(self) -> AsyncIterator[bytes]:  # type: ignore[override]
        """Every stored event payload, in the order stored, for rebuilding the engine."""
        start = "-"
        while True:
            page: Any = await self._redis.xrange(self.keys.log, start, "+", count=LOG_PAGE_ENTRIES)
            if not page:
                return
            entries = [(_text(entry_id), fields.get(b"s")) for entry_id, fields in page]
            blobs: Any = await self._redis.mget([self.keys.log_payloads(i) for i, _ in entries])
            for (_, skip), blob in zip(entries, blobs, strict=True):
                if blob is None:  # pruned between the two reads
                    continue
                payloads = _PAYLOADS.decode(blob)
                if not skip:
                    for payload in payloads:
                        yield payload
                    continue
                skipped = {int(index) for index in skip.split(b",")}
                for index, payload in enumerate(payloads):
                    if index not in skipped:
                        yield payload
            start = "(" + entries[-1][0]

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

    async def prune(self, before: float) -> int:
        """Drop the events ingested before `before` (epoch s); returns how many.

        Ingest time is Redis's clock when the batch was applied (the log entry
        id), so `before` should allow for clock skew between here and Redis. A
        log entry goes whole, with its payloads and the event_ids it stored, so
        the count is exact; a later re-publication of a pruned event counts as
        new. Each script call drops at most `PRUNE_PAGE_ENTRIES` entries.
        """
        cut = round(before * 1000)  # stream ids have millisecond resolution
        if cut <= 0:
            return 0
        keys = [self.keys.log, self.keys.ids]
        dropped = 0
        while True:
            events, entries = await self._prune(keys=keys, args=[f"{cut}-0", PRUNE_PAGE_ENTRIES])
            dropped += int(events)
            if int(entries) < PRUNE_PAGE_ENTRIES:
                return dropped

    @property
    def client(self) -> aioredis.Redis:
        return self._redis

    async def increment_counter(self, field: str, amount: int = 1) -> None:
        await self._redis.hincrby(self.keys.counters, field, amount)

    async def close(self) -> None:
        await self._redis.aclose()
