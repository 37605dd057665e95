"""The frames between the worker and its KPI process: one type per frame, one codec.

A frame is a 4-byte big-endian length, then a msgpack array: the frame's tag,
then its fields in order (msgspec tagged, array-like structs). The worker sends
`ToChild` frames on the child's stdin, the child answers with `ToWorker` frames
on its stdout (see `streams.worker.kpi.process` for the protocol).
"""

from __future__ import annotations

import asyncio
import struct

import msgspec


class Frame(msgspec.Struct, array_like=True, tag=True, frozen=True):
    """Every frame: array-like (no field names on the pipe), tagged with its class name."""


# -- worker -> child ------------------------------------------------------------------


class Start(Frame, frozen=True):
    """First frame: the settings (pickled `streams.settings.Settings`)."""

    settings: bytes


class Feed(Frame, frozen=True):
    """An applied batch: the payloads it stored for the first time (the only form events
    cross in), the log entry holding them ('' when none), when the store had them
    (epoch s) and whether the worker is catching up on a backlog."""

    stored_at: float
    catching_up: bool
    entry: str
    payloads: list[bytes]


class Reload(Frame, frozen=True):
    """Rebuild from Redis (after a batch whose apply may have succeeded unseen)."""


class Tick(Frame, frozen=True):
    """The snapshot timer: `lag` messages are waiting."""

    lag: int


class Prune(Frame, frozen=True):
    """The retention timer."""


ToChild = Start | Feed | Reload | Tick | Prune


# -- child -> worker ------------------------------------------------------------------


class Ready(Frame, frozen=True):
    """The child rebuilt its state and takes feeds."""


class Fed(Frame, frozen=True):
    """A feed was applied: the batch's event lag histogram (bucket counts and sum)."""

    lag_counts: list[int]
    lag_sum: float


class Reloaded(Frame, frozen=True):
    """A reload is done."""


class Computed(Frame, frozen=True):
    """Seconds each snapshot written since the last report took to compute (unprompted)."""

    seconds: list[float]


ToWorker = Ready | Fed | Reloaded | Computed

_HEADER = struct.Struct(">I")
_ENCODE = msgspec.msgpack.Encoder().encode
TO_CHILD: msgspec.msgpack.Decoder[ToChild] = msgspec.msgpack.Decoder(ToChild)
TO_WORKER: msgspec.msgpack.Decoder[ToWorker] = msgspec.msgpack.Decoder(ToWorker)


def encode_frame(frame: Frame) -> bytes:
    body = _ENCODE(frame)
    return _HEADER.pack(len(body)) + body


async def read_body(reader: asyncio.StreamReader) -> bytes:
    """The next frame's body; raises `asyncio.IncompleteReadError` at end of stream."""
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return await reader.readexactly(size)


async def read_to_child(reader: asyncio.StreamReader) -> ToChild:
    return TO_CHILD.decode(await read_body(reader))


async def read_to_worker(reader: asyncio.StreamReader) -> ToWorker:
    return TO_WORKER.decode(await read_body(reader))
