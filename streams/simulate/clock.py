"""Simulated time and its relation to the wall clock.

The generator works in simulated seconds since the run's start (`SimClock`
turns them into RFC 3339 strings). `Pacer` decides when each generated event
may be released in wall-clock time; it is what makes a run "live":

- `speedup` S > 0: an event `x` simulated seconds after the first one is
  released no earlier than `x / S` wall seconds after the first release.
  S = 1 with a start of "now" means every event carries (about) the current
  time when it is published. S = 0 disables this constraint (as fast as
  possible).
- `rate` R > 0: at most R events per wall second (a cap; 0 = no cap).
- `follow`: never release an event before the wall clock reaches its
  `occurred_at`. A backfill from a past start therefore runs as fast as the
  other constraints allow until it catches up with now, then continues live.

When a cap makes the feed fall behind, events keep their simulated times (they
are published late, as a lagging real system would); nothing is re-stamped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

DAY = 86400.0
HOUR = 3600.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SimClock:
    """Maps simulated seconds since `start` to epoch seconds and RFC 3339 strings (UTC)."""

    def __init__(self, start: datetime) -> None:
        self.start = start.astimezone(UTC)
        self.start_epoch = self.start.timestamp()
        self._start_us = round(self.start_epoch * 1_000_000)
        self._day: tuple[int, str] = (-1, "")

    def epoch(self, t: float) -> float:
        return self.start_epoch + t

    def iso(self, t: float) -> str:
        """E.g. "2026-11-27T10:00:00.000000+00:00" (always microseconds and an offset)."""
        seconds, micro = divmod(self._start_us + round(t * 1_000_000), 1_000_000)
        day, second = divmod(seconds, 86400)
        if self._day[0] != day:
            self._day = (day, (_EPOCH + timedelta(days=day)).date().isoformat())
        hour, rest = divmod(second, 3600)
        minute, sec = divmod(rest, 60)
        return f"{self._day[1]}T{hour:02d}:{minute:02d}:{sec:02d}.{micro:06d}+00:00"

    def next_time_of_day(self, t: float, seconds_after_midnight: float) -> float:
        """The first simulated time >= t whose UTC time of day is the given one."""
        epoch = self.start_epoch + t
        day = epoch - epoch % DAY
        target = day + seconds_after_midnight
        if target < epoch:
            target += DAY
        return target - self.start_epoch

    def day_start(self, t: float) -> float:
        """Simulated time of the UTC midnight at or before t."""
        epoch = self.start_epoch + t
        return epoch - epoch % DAY - self.start_epoch


class Pacer:
    """Sleeps before each event as the pacing rules above require."""

    def __init__(
        self,
        *,
        speedup: float,
        rate: float,
        follow: bool,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if speedup < 0 or rate < 0:
            raise ValueError("speedup and rate must be >= 0")
        self.speedup = speedup
        self.rate = rate
        self.follow = follow
        self._monotonic = monotonic
        self._wall = wall
        self._sleep = sleep
        self._origin: tuple[float, float] | None = None  # (first occurred epoch, monotonic)
        self._last = float("-inf")  # scheduled release of the previous event (monotonic)

    @property
    def active(self) -> bool:
        return self.speedup > 0 or self.rate > 0 or self.follow

    def wait(self, occurred_epoch: float) -> float:
        """Block until the event occurring at `occurred_epoch` may go; returns seconds slept."""
        now = self._monotonic()
        if self._origin is None:
            self._origin = (occurred_epoch, now)
        target = now
        if self.speedup > 0:
            first_epoch, first_mono = self._origin
            target = max(target, first_mono + (occurred_epoch - first_epoch) / self.speedup)
        if self.rate > 0:
            target = max(target, self._last + 1.0 / self.rate)
        if self.follow:
            target = max(target, now + occurred_epoch - self._wall())
        self._last = target
        delay = target - now
        if delay > 0.0005:  # below that, sleeping costs more than it paces
            self._sleep(delay)
            return delay
        return 0.0
