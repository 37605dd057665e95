"""Durations, event-time buckets and trailing windows (docs/KPI_DEFINITIONS.md, "Time").

Event time is cut into UTC-aligned buckets of `size` seconds (a divisor of a
day): bucket `k` is `[k * size, (k + 1) * size)`. A window `W` of a location
with watermark `wm` is made of whole buckets: it starts at
`window_start(wm, W, size) = bucket_start(wm) - W + size` and ends at `wm`, so
"7d" with daily buckets is today so far plus the six days before. An event is
in the window when `start <= t <= wm`. When the location's data began inside
the window, time-weighted figures use the covered span `[max(start, first), wm]`.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

DAY = 86400.0
"""Seconds in a day: the unit of "window days", daily demand and lead times."""

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


def bucket_index(t: float, size: float) -> int:
    """Index `k` of the bucket `[k * size, (k + 1) * size)` holding `t`.

    The float floor is corrected right at a boundary, where `t / size` can round
    across it (`k * size` is exact for any realistic epoch time).
    """
    k = math.floor(t / size)
    if k * size > t:
        return k - 1
    if (k + 1) * size <= t:
        return k + 1
    return k


def bucket_start(t: float, size: float) -> float:
    """Start (epoch seconds) of the bucket holding `t`."""
    return bucket_index(t, size) * size


def window_start(wm: float, window_s: float, size: float) -> float:
    """First instant of the window `window_s` ending at `wm`: its oldest bucket's start."""
    return bucket_start(wm, size) - window_s + size


def covered_span(wm: float, window_s: float, first_t: float, size: float) -> tuple[float, float]:
    """`(start, seconds)` of the covered part of the window ending at `wm`.

    `start = max(window_start, first_t)`; `seconds = wm - start`, never below 0
    (0 when the location's first event is at or after the watermark, which makes
    every time-based figure absent).
    """
    start = max(window_start(wm, window_s, size), first_t)
    return start, max(0.0, wm - start)


def covered_days(start: float, wm: float) -> tuple[int, int]:
    """`(first, count)`: the UTC day indexes whose span overlaps `[start, wm)`.

    Daily demand (its variability, and so working capital at risk and safety
    stock) is read over these days: today so far counts as a day once any of it
    is covered; a watermark exactly at midnight adds no empty day. `count` is 0
    when nothing is covered.
    """
    if wm <= start:
        return bucket_index(start, DAY), 0
    first = bucket_index(start, DAY)
    last = bucket_index(wm, DAY)
    if last * DAY == wm:  # wm at midnight: the new day has no covered time yet
        last -= 1
    return first, max(0, last - first + 1)


def complete_periods(wm: float, period_s: float, lo: float) -> list[float]:
    """Starts of the epoch-aligned periods `[ps, ps + period_s)` lying inside `[lo, wm]`.

    A period is complete once its end is at or before the watermark; it is
    inside when it starts at or after `lo`. Sorted ascending.
    """
    first = math.ceil(lo / period_s)
    if (first - 1) * period_s >= lo:
        first -= 1
    last = math.floor(wm / period_s) - 1
    if (last + 2) * period_s <= wm:
        last += 1
    return [k * period_s for k in range(first, last + 1)]


def period_label(start: float, period_s: float) -> str:
    """The `period` label of a cost-to-service point: its UTC start, as a date for whole days."""
    moment = datetime.fromtimestamp(start, UTC)
    if period_s % DAY == 0:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
