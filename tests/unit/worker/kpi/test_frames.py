"""Frames between the worker and its KPI process round-trip, large payloads included."""

from __future__ import annotations

import asyncio

import pytest

from streams.worker.frames import encode_frame, read_frame


@pytest.mark.parametrize(
    "items",
    [
        ("ready",),
        ("tick", 20_001),
        ("fed", [0, 3, 1], 12.5),
        ("feed", 1_764_300_000.25, True, [b"{}", b"x" * 3_000_000]),
    ],
)
def test_frames_read_back_in_order(items: tuple[object, ...]) -> None:
    """Each frame reads back as its items (tuples as lists), one after the other."""

    async def roundtrip() -> list[list[object]]:
        reader = asyncio.StreamReader(limit=1 << 16)
        reader.feed_data(encode_frame(*items) + encode_frame("stop"))
        reader.feed_eof()
        return [await read_frame(reader), await read_frame(reader)]

    first, second = asyncio.run(roundtrip())
    assert first == [list(item) if isinstance(item, tuple) else item for item in items]
    assert second == ["stop"]


def test_a_cut_frame_is_the_end_of_the_stream() -> None:
    """A frame cut short (the other process died) raises IncompleteReadError."""

    async def cut() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(encode_frame("fed", [1, 2], 3.0)[:-2])
        reader.feed_eof()
        await read_frame(reader)

    with pytest.raises(asyncio.IncompleteReadError):
        asyncio.run(cut())
