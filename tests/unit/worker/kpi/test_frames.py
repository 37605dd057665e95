"""Frames between the worker and its KPI process: one type each, round-trip, in order."""

from __future__ import annotations

import asyncio

import pytest

from streams.worker.kpi.frames import (
    Computed,
    Fed,
    Feed,
    Frame,
    Prune,
    Ready,
    Reload,
    Reloaded,
    Start,
    Tick,
    encode_frame,
    read_to_child,
    read_to_worker,
)


async def _read_all(data: bytes, reader_of: object, count: int) -> list[Frame]:
    reader = asyncio.StreamReader(limit=1 << 16)
    reader.feed_data(data)
    reader.feed_eof()
    return [await reader_of(reader) for _ in range(count)]  # type: ignore[operator]


@pytest.mark.parametrize(
    "frames",
    [
        [Start(b"pickled settings"), Tick(20_001), Prune(), Reload()],
        [Feed(1_764_300_000.25, True, "1700000000000-3", [b"{}", b"x" * 3_000_000])],
        [Feed(0.0, False, "", [])],
    ],
)
def test_frames_to_the_child_read_back_as_they_were(frames: list[Frame]) -> None:
    """Each frame reads back as an equal frame of its own type, in order, large ones too."""
    data = b"".join(encode_frame(frame) for frame in frames)
    assert asyncio.run(_read_all(data, read_to_child, len(frames))) == frames


def test_frames_to_the_worker_read_back_as_they_were() -> None:
    """Ready, Fed, Reloaded and Computed round-trip with their fields."""
    frames: list[Frame] = [Ready(), Fed([0, 3, 1], 12.5), Reloaded(), Computed([0.25, 1.5])]
    data = b"".join(encode_frame(frame) for frame in frames)
    assert asyncio.run(_read_all(data, read_to_worker, len(frames))) == frames


def test_the_end_of_the_pipe_is_an_incomplete_read() -> None:
    """A closed pipe ends the reading loop (IncompleteReadError), it is not a frame."""
    with pytest.raises(asyncio.IncompleteReadError):
        asyncio.run(_read_all(encode_frame(Tick(1))[:-1], read_to_child, 1))
