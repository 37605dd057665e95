"""Small arithmetic shared by the KPIs: ratios that may be absent, exact sums, spread.

Every figure must be a pure function of the set of events, whatever order they
arrived in and whether old state was pruned, so sums that cross those
boundaries are exact (`math.fsum`, `ExactSum`) rather than order-dependent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import chain


def ratio(numerator: float, denominator: float) -> float | None:
    """`numerator ÷ denominator`, or None when the denominator is 0 (the KPI is absent)."""
    if denominator == 0:
        return None
    return numerator / denominator


def median(values: Sequence[float]) -> float | None:
    """Median (mean of the middle two for an even count); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def mean_pvariance(values: Sequence[float]) -> tuple[float, float]:
    """Mean and population variance of `values`; `(0.0, 0.0)` for no values."""
    n = len(values)
    if n == 0:
        return 0.0, 0.0
    mean = math.fsum(values) / n
    return mean, math.fsum((x - mean) ** 2 for x in values) / n


def coefficient_of_variation(values: Sequence[float]) -> float | None:
    """Population standard deviation ÷ mean; None for fewer than 2 values or a mean ≤ 0."""
    if len(values) < 2:
        return None
    mean, variance = mean_pvariance(values)
    if mean <= 0:
        return None
    return math.sqrt(variance) / mean


class ExactSum:
    """A running sum kept exactly (Shewchuk's non-overlapping partials).

    Holds a lifetime counter's running total (streams.core.counters): `total()` is
    the correctly rounded sum of everything ever added, however the additions were
    grouped, so a rebuild that replays the same facts reads exactly the same value.
    """

    __slots__ = ("_partials",)

    def __init__(self) -> None:
        self._partials: list[float] = []

    def add(self, value: float) -> None:
        """Add one finite value exactly."""
        partials = self._partials
        kept = 0
        for other in partials:
            if abs(value) < abs(other):
                value, other = other, value
            high = value + other
            low = other - (high - value)
            if low:
                partials[kept] = low
                kept += 1
            value = high
        partials[kept:] = [value]

    def total(self, *more: Iterable[float]) -> float:
        """Correctly rounded sum of everything added plus the values in `more`."""
        return math.fsum(chain(self._partials, *more))

    def partials(self) -> list[float]:
        """The exact state: non-overlapping partials whose exact sum is everything added."""
        return list(self._partials)

    @staticmethod
    def of(partials: Iterable[float]) -> ExactSum:
        """An exact sum restored from `partials()`."""
        found = ExactSum()
        found._partials = list(partials)
        return found

    def __getstate__(self) -> list[float]:
        return self._partials

    def __setstate__(self, state: list[float]) -> None:
        self._partials = list(state)
