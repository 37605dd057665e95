"""Durations, covered spans, demand days and cost-to-service periods."""

from __future__ import annotations

import pytest

from streams.core.windows import (
    complete_periods,
    covered_span,
    day_count,
    day_index,
    parse_duration,
    period_label,
    window_slice,
)
from tests.unit.core.factories import DAY, T0_S


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
    ("wm", "window", "first", "expected"),
    [
        (10 * DAY, 7 * DAY, 0.0, (3 * DAY, 7 * DAY)),  # data older than the window
        (10 * DAY, 30 * DAY, 0.0, (0.0, 10 * DAY)),  # location started inside the window
        (10 * DAY, 7 * DAY, 10 * DAY, (10 * DAY, 0.0)),  # nothing covered yet
        (10 * DAY, 7 * DAY, 11 * DAY, (11 * DAY, 0.0)),  # first event in the lateness band
    ],
)
def test_covered_span(
    wm: float, window: float, first: float, expected: tuple[float, float]
) -> None:
    """The covered span starts at the later of the window start and the first event."""
    assert covered_span(wm, window, first) == expected


def test_window_slice_is_open_below_closed_above() -> None:
    """`(lo, hi]`: an item exactly at the window start is outside, one at the watermark inside."""
    assert window_slice([1.0, 2.0, 3.0, 4.0], 2.0, 4.0) == (2, 4)


@pytest.mark.parametrize(("days", "count"), [(0.0, 0), (0.5, 1), (1.0, 1), (2.25, 3), (7.0, 7)])
def test_day_count(days: float, count: int) -> None:
    """Covered days round up to whole demand days."""
    assert day_count(days) == count


@pytest.mark.parametrize(
    ("age_days", "index"), [(0.0, 0), (0.5, 0), (1.0, 0), (1.0001, 1), (2.0, 1), (6.5, 6)]
)
def test_day_index(age_days: float, index: int) -> None:
    """Day i is `(wm - (i+1)d, wm - i*d]`: a time exactly one day back is still day 0."""
    wm = T0_S + 10 * DAY
    assert day_index(wm, wm - age_days * DAY) == index


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
