"""The event log: the events applied since the KPI state's last checkpoint (SPEC §4.1).

The worker's apply script appends one entry per batch that stored anything (see
`keys.py` for the layout); the KPI process replays the entries after its
checkpoint when it starts, and trims them once a later checkpoint covers them.
So the log holds minutes of events, not the retention: raw events are kept only
until their effect is in the checkpointed aggregates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import msgspec
import redis.asyncio as aioredis

from streams.store.keys import KeyLayout

_PAYLOADS = msgspec.msgpack.Decoder(list[bytes])
# Entries read per page when replaying: an entry holds a whole batch.
READ_PAGE_ENTRIES = 8
# Entries dropped per trim step, so one step never blocks Redis long.
TRIM_PAGE_ENTRIES = 64


class LogBatch(NamedTuple):
    """The payloads one log entry stored, in batch order (duplicates already left out)."""

    entry: str
    payloads: list[bytes]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def entry_after(a: str, b: str) -> bool:
    """Whether stream entry id `a` comes after `b` ('<ms>-<seq>', compared numerically)."""
    ams, _, aseq = a.partition("-")
    bms, _, bseq = b.partition("-")
    return (int(ams), int(aseq or 0)) > (int(bms), int(bseq or 0))


async def read_log(
    client: aioredis.Redis, keys: KeyLayout, after: str | None
) -> AsyncIterator[LogBatch]:
    """The log's batches after entry `after` (from the first when None), in order."""
    start = "-" if after is None else "(" + after
    while True:
        page: Any = await client.xrange(keys.log, start, "+", count=READ_PAGE_ENTRIES)
        if not page:
            return
        entries = [(_text(entry_id), fields.get(b"s")) for entry_id, fields in page]
        blobs: Any = await client.mget([keys.log_payloads(i) for i, _ in entries])
        for (entry_id, skip), blob in zip(entries, blobs, strict=True):
            if blob is None:  # trimmed between the two reads
                continue
            payloads = _PAYLOADS.decode(blob)
            if skip:
                skipped = {int(index) for index in skip.split(b",")}
                payloads = [p for index, p in enumerate(payloads) if index not in skipped]
            yield LogBatch(entry_id, payloads)
        start = "(" + entries[-1][0]


async def trim_log(client: aioredis.Redis, keys: KeyLayout, upto: str) -> int:
    """Drop the entries up to and including `upto`, with their payloads; the events dropped.

    Page by page (each page one MULTI: payload keys, then the entries), so a trim
    never blocks Redis for long and a crash in between leaves only whole entries.
    """
    dropped = 0
    while True:
        page: Any = await client.xrange(keys.log, "-", upto, count=TRIM_PAGE_ENTRIES)
        if not page:
            return dropped
        ids = [_text(entry_id) for entry_id, _fields in page]
        for _entry_id, fields in page:
            skipped = fields.get(b"s")
            total = len(msgspec.msgpack.decode(fields[b"i"]))
            dropped += total - (len(skipped.split(b",")) if skipped else 0)
        async with client.pipeline(transaction=True) as pipe:
            pipe.delete(*[keys.log_payloads(entry_id) for entry_id in ids])
            pipe.xdel(keys.log, *ids)
            await pipe.execute()
        if len(page) < TRIM_PAGE_ENTRIES:
            return dropped


async def log_events(client: aioredis.Redis, keys: KeyLayout) -> int:
    """How many entries the log holds (a cheap size for the checkpoint schedule)."""
    return int(await client.xlen(keys.log))
