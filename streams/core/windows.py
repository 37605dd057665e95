"""Durations and trailing event-time windows (docs/KPI_DEFINITIONS.md, "Time").

A window `W` of a location ends at its watermark `wm` and is the half-open
interval `(wm - W, wm]`. When the location's data began inside the window, the
time-weighted figures use the covered span `[max(wm - W, first), wm]`.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime

DAY = 86400.0
"""Seconds in a day: the unit of "window days", demand buckets and lead times."""

_UNIT_SECONDS: dict[str, float] = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": DAY, "w": 7 * DAY}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as "7d", "30d", "12h", "90m", "45s" or "2w".

    Raises ValueError for anything else, and for a zero duration (a window must
    have a length).
    """
    match = _DURATION.fullmatch(text)
    if match is None:
        raise ValueError(f"not a duration: {text!r} (expected e.g. '7d', '12h', '90m', '45s')")
    seconds = float(match[1]) * _UNIT_SECONDS[match[2]]
    if seconds <= 0:
        raise ValueError(f"duration must be positive: {text!r}")
    return seconds


def covered_span(wm: float, window_s: float, first_t: float) -> tuple[float, float]:
    """`(start, seconds)` of the covered part of the window `(wm - window_s, wm]`.

    `start = max(wm - window_s, first_t)`; `seconds = wm - start`, never below 0
    (0 when the location's first event is at or after the watermark, which makes
    every time-based figure absent).
    """
    start = max(wm - window_s, first_t)
    return start, max(0.0, wm - start)


def window_slice(times: Sequence[float], lo: float, hi: float) -> tuple[int, int]:
    """Index range `[i, j)` of the sorted `times` inside the half-open `(lo, hi]`."""
    return bisect_right(times, lo), bisect_right(times, hi)


def day_count(window_days: float) -> int:
    """Number of whole demand days covering `window_days` (ceil; 0 when nothing is covered)."""
    return math.ceil(window_days) if window_days > 0 else 0


def day_index(wm: float, t: float) -> int:
    """Demand-day index `i` of time `t`: the day `(wm - (i+1)·1d, wm - i·1d]` holding it (≥ 0)."""
    return max(0, math.ceil((wm - t) / DAY) - 1)


def complete_periods(wm: float, period_s: float, lo: float) -> list[float]:
    """Starts of the epoch-aligned periods `[ps, ps + period_s)` lying inside `[lo, wm]`.

    A period is complete once its end is at or before the watermark; it is
    inside when it starts at or after `lo`. Sorted ascending.
    """
    first = math.ceil(lo / period_s)
    last = math.floor(wm / period_s) - 1
    return [k * period_s for k in range(first, last + 1)]


def period_label(start: float, period_s: float) -> str:
    """The `period` label of a cost-to-service point: its UTC start, as a date for whole days."""
    moment = datetime.fromtimestamp(start, UTC)
    if period_s % DAY == 0:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
