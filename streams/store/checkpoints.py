"""Checkpoints of the KPI state: the engine's aggregates, so a restart loads, not replays.

A checkpoint is one blob per location (only those changed since the previous
checkpoint are written again) and one blob of the engine's global part, all as
of one log entry, `applied`: the KPI process restores them and replays the log
after that entry. Blobs are written under a new version number first, then one
script switches the manifest (location → version), the global version and
`applied` together, and only forward (a late writer never takes the state
back), so a checkpoint interrupted anywhere leaves the previous one
whole; superseded blobs are deleted afterwards, and blobs a crashed writer left
unreferenced are swept at the next start.

The writer is synchronous on purpose: it runs in a forked copy of the KPI
process (a consistent image of the state that costs the live process nothing;
see `streams.worker.kpi.checkpointing`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio as aioredis

from streams.store.keys import KeyLayout

# Blobs written per pipeline round trip (a location blob can be megabytes).
WRITE_CHUNK = 16


@dataclass
class Checkpoint:
    """The last checkpoint: the log entry it covers, the global and the location blobs."""

    applied: str | None = None
    global_blob: bytes | None = None
    locations: dict[str, bytes] = field(default_factory=dict)
    events: int = 0  # events the state reflects (all it was ever fed)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def read_checkpoint(client: aioredis.Redis, keys: KeyLayout) -> Checkpoint:
    """The current checkpoint (empty when none was written yet)."""
    meta: Any = await client.hgetall(keys.state_meta)
    manifest: Any = await client.hgetall(keys.state_manifest)
    applied = meta.get(b"applied")
    global_version = meta.get(b"global")
    checkpoint = Checkpoint(
        applied=_text(applied) if applied else None, events=int(meta.get(b"events", 0))
    )
    if global_version is not None:
        blob: Any = await client.get(keys.state_global(int(global_version)))
        checkpoint.global_blob = blob
    codes = [_text(code) for code in manifest]
    for first in range(0, len(codes), WRITE_CHUNK):
        chunk = codes[first : first + WRITE_CHUNK]
        names = [keys.state_location(int(manifest[code.encode()]), code) for code in chunk]
        blobs: Any = await client.mget(names)
        for code, blob in zip(chunk, blobs, strict=True):
            if blob is None:
                raise RuntimeError(f"checkpoint blob of location {code!r} is missing")
            checkpoint.locations[code] = blob
    return checkpoint


def write_checkpoint(
    client: redis.Redis,
    keys: KeyLayout,
    applied: str,
    global_blob: bytes | None,
    locations: Mapping[str, bytes],
    events: int = 0,
) -> int:
    """Write the changed blobs, then switch to them atomically; returns the version.

    `events`: how many events the state reflects (kept with `applied`).
    """
    version = int(client.hincrby(keys.state_meta, "version", 1))
    codes = sorted(locations)
    for first in range(0, len(codes), WRITE_CHUNK):
        with client.pipeline(transaction=False) as pipe:
            for code in codes[first : first + WRITE_CHUNK]:
                pipe.set(keys.state_location(version, code), locations[code])
            pipe.execute()
    if global_blob is not None:
        client.set(keys.state_global(version), global_blob)
    previous: Any = client.hmget(keys.state_manifest, codes) if codes else []
    old_global: Any = client.hget(keys.state_meta, "global")
    switched = client.eval(
        _SWITCH,
        2,
        keys.state_meta,
        keys.state_manifest,
        applied,
        version,
        int(global_blob is not None),
        events,
        *codes,
    )
    if not switched:  # a newer checkpoint won: ours is stale, drop what we wrote
        mine = [keys.state_location(version, code) for code in codes]
        if global_blob is not None:
            mine.append(keys.state_global(version))
        for first in range(0, len(mine), 256):
            client.delete(*mine[first : first + 256])
        raise StaleCheckpoint(f"a checkpoint newer than {applied} is in place")
    stale = [
        keys.state_location(int(old), code)
        for code, old in zip(codes, previous, strict=True)
        if old is not None
    ]
    if global_blob is not None and old_global is not None:
        stale.append(keys.state_global(int(old_global)))
    for first in range(0, len(stale), 256):
        client.delete(*stale[first : first + 256])
    return version


class StaleCheckpoint(Exception):
    """A checkpoint newer than the one being written is already in place.

    A writer left over from a KPI process that was replaced can finish late; it
    must not take the state back to an older log entry (the log before the newer
    one may be trimmed already).
    """


# KEYS[1] meta, KEYS[2] manifest; ARGV: applied, version, global (0/1), events, codes...
# Switches only forward: stream entry ids compare as (ms, seq).
_SWITCH = """
local current = redis.call('HGET', KEYS[1], 'applied')
if current then
  local cms, cseq = string.match(current, '^(%d+)-(%d+)$')
  local ms, seq = string.match(ARGV[1], '^(%d+)-(%d+)$')
  cms, cseq, ms, seq = tonumber(cms), tonumber(cseq), tonumber(ms), tonumber(seq)
  if ms < cms or (ms == cms and seq < cseq) then
    return 0
  end
end
for i = 5, #ARGV do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[2])
end
redis.call('HSET', KEYS[1], 'applied', ARGV[1], 'events', ARGV[4])
if ARGV[3] == '1' then
  redis.call('HSET', KEYS[1], 'global', ARGV[2])
end
return 1
"""


async def sweep_orphans(client: aioredis.Redis, keys: KeyLayout) -> int:
    """Delete blobs the checkpoint does not point to (left by a crashed writer)."""
    manifest: Any = await client.hgetall(keys.state_manifest)
    live = {keys.state_location(int(v), _text(code)) for code, v in manifest.items()}
    current: Any = await client.hget(keys.state_meta, "global")
    if current is not None:
        live.add(keys.state_global(int(current)))
    orphans = [
        name
        for pattern in (keys.state_location_pattern, keys.state_global_pattern)
        async for name in client.scan_iter(match=pattern, count=1000)
        if _text(name) not in live
    ]
    for first in range(0, len(orphans), 256):
        await client.delete(*orphans[first : first + 256])
    return len(orphans)
