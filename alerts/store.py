"""Alert state and the delivery outbox in Redis, written together atomically.

Keys (after the configured prefix, default `kpimon:`):

| key | type | content |
|---|---|---|
| `alerts:state:{key}` | hash | one alert state, one JSON value per field |
| `alerts:states` | set | every state key |
| `alerts:outbox:{channel}` | stream | transitions waiting for delivery on that channel, in order |
| `alerts:dead:{channel}` | stream | transitions a receiver refused for good, with the reason |
| `alerts:lease:{channel}` | string | the dispatcher currently draining that channel |

`commit` writes state changes and appends each transition to every channel's
outbox in one MULTI/EXEC: after a crash either both happened or neither did,
so a restarted worker neither pages twice nor loses a transition. The
dispatcher deletes an outbox entry only after its delivery succeeded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

import redis.asyncio as aioredis

from alerts.model import AlertState, Transition

_STATE_FIELDS = tuple(f.name for f in fields(AlertState))

_LEASE = """
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    entry_id: str
    transition: Transition


class AlertStore(Protocol):
    """Where the worker keeps alert states and queues transitions."""

    async def load_states(self) -> dict[str, AlertState]: ...

    async def commit(
        self, changes: Mapping[str, AlertState | None], transitions: Sequence[Transition]
    ) -> None: ...


class Outbox(Protocol):
    """What the dispatcher drains, per channel, in order."""

    async def peek(self, channel: str, count: int) -> list[OutboxEntry]: ...

    async def wait(self, channel: str, timeout: float) -> None: ...

    async def ack(self, channel: str, entry_ids: Sequence[str]) -> None: ...

    async def reject(self, channel: str, entries: Sequence[OutboxEntry], reason: str) -> None: ...

    async def acquire(self, channel: str, owner: str, ttl_seconds: float) -> bool: ...


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def encode_state(state: AlertState) -> dict[str, str]:
    return {name: json.dumps(value, sort_keys=True) for name, value in asdict(state).items()}


def decode_state(raw: Mapping[Any, Any]) -> AlertState:
    data = {_text(k): json.loads(_text(v)) for k, v in raw.items()}
    return AlertState(**{name: data[name] for name in _STATE_FIELDS if name in data})


class RedisAlertStore:
    """`AlertStore` and `Outbox` over one Redis (redis-py asyncio client)."""

    def __init__(
        self,
        client: aioredis.Redis,
        channels: Sequence[str],
        prefix: str = "kpimon:",
        max_outbox: int | None = None,
    ) -> None:
        self._redis = client
        self.channels = tuple(channels)
        self._prefix = prefix
        self._max_outbox = max_outbox
        self._lease = client.register_script(_LEASE)

    def state_key(self, key: str) -> str:
        return f"{self._prefix}alerts:state:{key}"

    @property
    def index_key(self) -> str:
        return f"{self._prefix}alerts:states"

    def outbox_key(self, channel: str) -> str:
        return f"{self._prefix}alerts:outbox:{channel}"

    def dead_key(self, channel: str) -> str:
        return f"{self._prefix}alerts:dead:{channel}"

    def lease_key(self, channel: str) -> str:
        return f"{self._prefix}alerts:lease:{channel}"

    async def load_states(self) -> dict[str, AlertState]:
        """Every stored alert state, by key."""
        keys = sorted(_text(k) for k in await self._redis.smembers(self.index_key))
        if not keys:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.hgetall(self.state_key(key))
            rows = await pipe.execute()
        return {key: decode_state(row) for key, row in zip(keys, rows, strict=True) if row}

    async def firing_states(self) -> list[AlertState]:
        """The alerts firing now (what the Alertmanager re-send repeats)."""
        states = await self.load_states()
        return [state for state in states.values() if state.status == "firing"]

    def stage(
        self,
        pipe: Any,
        changes: Mapping[str, AlertState | None],
        transitions: Sequence[Transition],
    ) -> None:
        """Queue the commands of `commit` on a caller's transactional pipeline."""
        for key, state in changes.items():
            if state is None:
                pipe.delete(self.state_key(key))
                pipe.srem(self.index_key, key)
            else:
                pipe.delete(self.state_key(key))
                pipe.hset(self.state_key(key), mapping=encode_state(state))
                pipe.sadd(self.index_key, key)
        for transition in transitions:
            payload: dict[Any, Any] = {"transition": transition.to_json()}
            for channel in self.channels:
                if self._max_outbox is None:
                    pipe.xadd(self.outbox_key(channel), payload)
                else:
                    pipe.xadd(
                        self.outbox_key(channel),
                        payload,
                        maxlen=self._max_outbox,
                        approximate=True,
                    )

    async def commit(
        self, changes: Mapping[str, AlertState | None], transitions: Sequence[Transition]
    ) -> None:
        """Write state changes and queue transitions on every channel, atomically."""
        if not changes and not transitions:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            self.stage(pipe, changes, transitions)
            await pipe.execute()

    async def peek(self, channel: str, count: int) -> list[OutboxEntry]:
        """The oldest `count` undelivered transitions of a channel, oldest first."""
        rows: Any = await self._redis.xrange(self.outbox_key(channel), "-", "+", count=count)
        entries = []
        for entry_id, values in rows or ():
            payload = {_text(k): _text(v) for k, v in (values or {}).items()}
            transition = Transition.from_json(payload["transition"])
            entries.append(OutboxEntry(_text(entry_id), transition))
        return entries

    async def backlog(self, channel: str) -> int:
        return int(await self._redis.xlen(self.outbox_key(channel)))

    async def wait(self, channel: str, timeout: float) -> None:
        """Return when a new entry arrives on the channel or after `timeout` seconds."""
        await self._redis.xread(
            {self.outbox_key(channel): "$"}, count=1, block=max(1, int(timeout * 1000))
        )

    async def ack(self, channel: str, entry_ids: Sequence[str]) -> None:
        """Forget delivered entries."""
        if entry_ids:
            await self._redis.xdel(self.outbox_key(channel), *entry_ids)

    async def reject(self, channel: str, entries: Sequence[OutboxEntry], reason: str) -> None:
        """Move entries a receiver refused for good to the channel's dead-letter stream."""
        if not entries:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            for entry in entries:
                fields_: dict[Any, Any] = {
                    "transition": entry.transition.to_json(),
                    "reason": reason[:500],
                    "entry_id": entry.entry_id,
                }
                pipe.xadd(self.dead_key(channel), fields_)
            pipe.xdel(self.outbox_key(channel), *[e.entry_id for e in entries])
            await pipe.execute()

    async def acquire(self, channel: str, owner: str, ttl_seconds: float) -> bool:
        """Take or renew the lease on a channel; False while another dispatcher holds it."""
        result = await self._lease(
            keys=[self.lease_key(channel)], args=[owner, max(1, int(ttl_seconds * 1000))]
        )
        return bool(result)
