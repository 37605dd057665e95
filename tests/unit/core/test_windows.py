"""Durations, buckets, window starts, covered spans, demand days and cost-to-service periods."""

from __future__ import annotations

import pytest

from streams.core.windows import (
    bucket_index,
    bucket_start,
    complete_periods,
    covered_days,
    covered_span,
    parse_duration,
    period_label,
    window_start,
)
from tests.unit.core.factories import DAY, HOUR, T0_S


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("7d", 604800.0), ("30d", 2592000.0), ("12h", 43200.0), ("90m", 5400.0), ("45s", 45.0),
     ("2w", 1209600.0), ("1.5h", 5400.0)],
)  # fmt: skip
def test_parse_duration(text: str, seconds: float) -> None:
    """A number and a unit (s, m, h, d, w) give seconds."""
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "7", "d", "7 d", " 7d", "7days", "-1d", "0d", "7D", "1e3s"])
def test_parse_duration_rejects_junk(text: str) -> None:
    """Anything but `<positive number><unit>` is a ValueError."""
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("t", "size", "index"),
    [
        (T0_S, DAY, 19783),  # 2024-03-01T00:00Z starts its day
        (T0_S - 0.001, DAY, 19782),  # a millisecond before belongs to the day before
        (T0_S + DAY - 1e-6, DAY, 19783),  # right at the end of the day: still that day
        (T0_S + 5400.0, HOUR, 19783 * 24 + 1),  # 01:30 is in the second hour
    ],
)
def test_bucket_index(t: float, size: float, index: int) -> None:
    """Buckets are UTC-aligned `[k * size, (k + 1) * size)`, exact at their boundaries."""
    assert bucket_index(t, size) == index
    assert bucket_start(t, size) == index * size


@pytest.mark.parametrize(
    ("wm", "window", "size", "start"),
    [
        (T0_S + 9.5 * DAY, 7 * DAY, DAY, T0_S + 3 * DAY),  # today so far + the 6 days before
        (T0_S + 10 * DAY, 7 * DAY, DAY, T0_S + 4 * DAY),  # at midnight: 6 whole days + 0 s
        (T0_S + 9.5 * DAY, 12 * HOUR, HOUR, T0_S + 9 * DAY + HOUR),  # this hour + 11 before
    ],
)
def test_window_start_is_a_whole_number_of_buckets_back(
    wm: float, window: float, size: float, start: float
) -> None:
    """A window starts `W - bucket` before the start of the watermark's bucket (SPEC §4.1)."""
    assert window_start(wm, window, size) == start


@pytest.mark.parametrize(
    ("wm", "window", "first", "expected"),
    [
        (10.5 * DAY, 7 * DAY, 0.0, (4 * DAY, 6.5 * DAY)),  # data older than the window
        (10 * DAY, 30 * DAY, 0.0, (0.0, 10 * DAY)),  # location started inside the window
        (10 * DAY, 7 * DAY, 10 * DAY, (10 * DAY, 0.0)),  # nothing covered yet
        (10 * DAY, 7 * DAY, 11 * DAY, (11 * DAY, 0.0)),  # first event in the lateness band
    ],
)
def test_covered_span(
    wm: float, window: float, first: float, expected: tuple[float, float]
) -> None:
    """The covered span starts at the later of the window start and the first event."""
    assert covered_span(wm, window, first, DAY) == expected


@pytest.mark.parametrize(
    ("start", "wm", "expected"),
    [
        (0.0, 3 * DAY, (0, 3)),  # a watermark at midnight adds no empty day
        (0.0, 3.25 * DAY, (0, 4)),  # today so far is a day
        (1.5 * DAY, 3.25 * DAY, (1, 3)),  # the first covered day may be partial too
        (2 * DAY, 2 * DAY, (2, 0)),  # nothing covered
    ],
)
def test_covered_days(start: float, wm: float, expected: tuple[int, int]) -> None:
    """Daily demand is read over the UTC days overlapping `[start, wm)`."""
    assert covered_days(start, wm) == expected


def test_complete_periods_are_epoch_aligned_and_end_by_the_watermark() -> None:
    """Periods start on multiples of the period and end at or before the watermark."""
    wm = T0_S + 3.5 * DAY
    assert complete_periods(wm, DAY, T0_S - 0.5 * DAY) == [T0_S, T0_S + DAY, T0_S + 2 * DAY]


@pytest.mark.parametrize(
    ("period", "label"), [(DAY, "2024-03-01"), (3600.0, "2024-03-01T00:00:00Z")]
)
def test_period_label(period: float, label: str) -> None:
    """Whole-day periods are labelled by date, others by their UTC start time."""
    assert period_label(T0_S, period) == label
