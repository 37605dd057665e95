"""Length-prefixed msgpack frames between the worker and its KPI process (pure framing).

A frame is a 4-byte big-endian length, then a msgpack array whose first item is
the frame's kind (see `streams.worker.kpi_process` for the kinds).
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import msgspec

_HEADER = struct.Struct(">I")
_ENCODE = msgspec.msgpack.Encoder().encode
_DECODE = msgspec.msgpack.Decoder(list[Any]).decode


def encode_frame(*items: Any) -> bytes:
    body = _ENCODE(items)
    return _HEADER.pack(len(body)) + body


async def read_frame(reader: asyncio.StreamReader) -> list[Any]:
    """The next frame's items; raises `asyncio.IncompleteReadError` at end of stream."""
    (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    return _DECODE(await reader.readexactly(size))
