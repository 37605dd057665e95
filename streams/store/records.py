"""What the worker hands the store for each consumed message (plain data)."""

from __future__ import annotations

import zlib
from typing import NamedTuple

LATE = "late"
"""The label of an event older than the dedup horizon: counted late, not stored (SPEC §4.1)."""


class MessageRecord(NamedTuple):
    """One consumed message and what validation made of it.

    `event_id` is None for a rejected message, whose `label` is then the
    rejection reason (or `LATE`: an event too old to be deduplicated, counted and
    dropped, not dead-lettered); otherwise `label` is the event type. `payload` is the
    message value as consumed (b'' when rejected) and `digest` its
    `payload_digest` ('' when rejected).
    A tuple, not a dataclass: one is built per consumed message on the hot path.
    """

    topic: str
    partition: int
    offset: int
    event_id: str | None
    payload: bytes
    label: str
    digest: str = ""
    day: int = 0  # the event's UTC day (epoch days): its dedup slots


def payload_digest(payload: bytes) -> str:
    """What tells two payloads of one event_id apart: CRC-32 and length, as one number.

    Byte-for-byte: a redelivery or a re-publication sends the same bytes; the same
    event re-serialised differently is reported as a conflict (dead-lettered, never
    applied twice). A CRC, not a cryptographic hash: it guards against accidents
    (a producer reusing ids), and one in 2**32 different payloads of equal length
    passing for a duplicate changes no KPI (it is dropped either way).
    """
    # Text, not bytes (Redis's Lua msgpack has no binary type); decimal, the cheapest.
    return str(zlib.crc32(payload) | len(payload) << 32)
