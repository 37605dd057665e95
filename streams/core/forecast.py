"""Forecast error of one location: WAPE and MAPE over closed forecast periods.

The forecast that counts for a period `(sku, period_start, period_end)` is the
latest `forecast.published` (by occurred_at, then event_id) published at or
before `period_start`: what planning acted on. One published later cannot
rewrite the score, and a period without any is skipped. So one forecast is kept
per period, however often it is re-published. A period belongs to a window when
its `period_end` is in `(start, wm]` (it is closed, and not wholly before the
window). Its actual is the demand of the buckets starting in
`[period_start, period_end)`: exact for periods on the bucket grid (whole UTC
days with daily buckets), read on the grid otherwise.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass

PeriodKey = tuple[str, float, float]
"""`(sku, period_start, period_end)` in epoch seconds."""


@dataclass(frozen=True, slots=True)
class ForecastError:
    """Sums behind WAPE (abs_error ÷ actual, units) and MAPE (ape_sum ÷ periods, 1)."""

    abs_error: float
    actual: float
    ape_sum: float
    periods: int

    @property
    def wape(self) -> float | None:
        """Σ|A-F| ÷ ΣA; None when ΣA = 0."""
        return self.abs_error / self.actual if self.actual else None

    @property
    def mape(self) -> float | None:
        """Mean |A-F| ÷ A over periods with A > 0; None when there are none."""
        return self.ape_sum / self.periods if self.periods else None


class ForecastBook:
    """The forecast that counts per period of one location (see the module docstring)."""

    def __init__(self) -> None:
        self._latest: dict[PeriodKey, tuple[float, str, float]] = {}
        self._by_end: list[tuple[float, str, float]] = []  # (period_end, sku, period_start)
        self._ends: list[float] = []
        self._sorted = True

    def add(self, key: PeriodKey, published_at: float, event_id: str, quantity: float) -> None:
        """Record a publication; a later one (time, then event id) replaces the forecast.

        A publication after the period started is ignored (it cannot rewrite the score).
        """
        if published_at > key[1]:
            return
        kept = self._latest.get(key)
        if kept is None:
            sku, start, end = key
            self._by_end.append((end, sku, start))
            self._sorted = False
        elif kept[:2] >= (published_at, event_id):
            return
        self._latest[key] = (published_at, event_id, quantity)

    def _sort(self) -> None:
        if not self._sorted:
            self._by_end.sort()
            self._ends = [e[0] for e in self._by_end]
            self._sorted = True

    def error(
        self, lo: float, hi: float, actual: Callable[[str, float, float], float]
    ) -> ForecastError:
        """Error over periods ending in `(lo, hi]`; A = `actual(sku, start, end)` (units)."""
        self._sort()
        i, j = bisect_right(self._ends, lo), bisect_right(self._ends, hi)
        errors: list[float] = []
        actuals: list[float] = []
        apes: list[float] = []
        for end, sku, start in self._by_end[i:j]:
            units = actual(sku, start, end)
            error = abs(units - self._latest[(sku, start, end)][2])
            errors.append(error)
            actuals.append(units)
            if units > 0:
                apes.append(error / units)
        return ForecastError(math.fsum(errors), math.fsum(actuals), math.fsum(apes), len(apes))

    def earliest_start(self) -> float:
        """Earliest period start kept (inf when none): demand before it is no longer needed."""
        return min((start for _end, _sku, start in self._by_end), default=math.inf)

    def prune(self, cut: float) -> int:
        """Drop periods that ended at or before `cut` (no window reaches them); returns how many."""
        self._sort()
        k = bisect_right(self._ends, cut)
        for end, sku, start in self._by_end[:k]:
            del self._latest[(sku, start, end)]
        del self._by_end[:k], self._ends[:k]
        return k
