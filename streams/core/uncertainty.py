"""Uncertainty model of a SKU-location: demand and lead-time spread, safety stock, projection.

Units: demand in units/day, lead times in days, times in epoch seconds.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist
from typing import Generic, TypeVar

from streams.core.ratios import mean_pvariance
from streams.core.windows import DAY

K = TypeVar("K", bound=Hashable)


def z_score(service_target: float) -> float:
    """Standard normal quantile of the cycle service target (0.95 -> 1.645)."""
    return NormalDist().inv_cdf(service_target)


@dataclass(frozen=True, slots=True)
class LeadTime:
    """Lead-time statistics over receipts: count, mean and population std (days)."""

    receipts: int
    mean_days: float
    std_days: float

    @property
    def cv(self) -> float | None:
        """Coefficient of variation; None with fewer than 2 receipts or a mean <= 0."""
        if self.receipts < 2 or self.mean_days <= 0:
            return None
        return self.std_days / self.mean_days


NO_RECEIPTS = LeadTime(0, 0.0, 0.0)
"""The statistics of a key without receipts."""


class LeadTimeBook(Generic[K]):
    """Lead times of every receipt seen, per key (a supplier, or a SKU-location).

    Kept as exact sums (count, Σx and Σx² as fractions), so the statistics are
    the same whatever order the receipts arrived in, and nothing has to be
    pruned: lead-time statistics use the whole history, not a window. `add`
    only appends; the exact sums are folded in when statistics are read.
    """

    def __init__(self) -> None:
        self._sums: dict[K, tuple[int, Fraction, Fraction]] = {}
        self._pending: dict[K, list[float]] = {}
        self._stats: dict[K, LeadTime] = {}

    def add(self, key: K, lead_time_days: float) -> None:
        """Record one receipt's lead time (days)."""
        pending = self._pending.get(key)
        if pending is None:
            self._pending[key] = [lead_time_days]
            self._stats.pop(key, None)
        else:
            pending.append(lead_time_days)

    def stats(self, key: K) -> LeadTime:
        """Count, mean and population std of the key's lead times (zeros when none)."""
        found = self._stats.get(key)
        if found is not None:
            return found
        pending = self._pending.pop(key, [])
        if not pending and key not in self._sums:
            # Most SKU-locations never had a receipt of their own: nothing to cache.
            return NO_RECEIPTS
        n, total, squares = self._sums.get(key, (0, Fraction(0), Fraction(0)))
        if pending:
            more_total, more_squares = _exact_sums(pending)
            n, total, squares = n + len(pending), total + more_total, squares + more_squares
            self._sums[key] = (n, total, squares)
        if n == 0:
            found = LeadTime(0, 0.0, 0.0)
        else:
            mean = total / n
            found = LeadTime(n, float(mean), math.sqrt(float(squares / n - mean * mean)))
        self._stats[key] = found
        return found


def _exact_sums(values: list[float]) -> tuple[Fraction, Fraction]:
    """Exact Σx and Σx² of floats, with integer arithmetic on a common power-of-two scale."""
    ratios = [x.as_integer_ratio() for x in values]  # denominators are powers of two
    shift = max(d.bit_length() - 1 for _n, d in ratios)
    total = sum(n << (shift - d.bit_length() + 1) for n, d in ratios)
    squares = sum((n * n) << (2 * (shift - d.bit_length() + 1)) for n, d in ratios)
    return Fraction(total, 1 << shift), Fraction(squares, 1 << (2 * shift))


@dataclass(frozen=True, slots=True)
class Outlook:
    """Demand, lead time and what they imply for one SKU-location."""

    daily_demand: float
    demand_std: float
    lead_time_days: float
    lead_time_std_days: float
    days_of_cover: float | None
    safety_stock: float
    projected_stockout_at: float | None
    at_risk: bool


def outlook(
    daily: Sequence[float],
    covered_days: float,
    lead_time: LeadTime | None,
    default_lead_time_days: float,
    on_hand: float,
    in_transit: float,
    now: float,
    z: float,
) -> Outlook:
    """Model a SKU-location from its daily demand buckets and lead-time statistics.

    - d = units ordered over the covered span ÷ `covered_days` (fractional days:
      10 units over 1.25 covered days is 8 per day); 0 when nothing is covered.
      `daily` are the whole-day buckets back from the watermark covering that span
      (the oldest may reach before the location's first event, where there is none);
    - sigma_d: population std of the daily buckets (0 without buckets);
    - LT, sigma_LT: from `lead_time` when it has receipts, else the default and 0;
    - days of cover = (max(on_hand, 0) + in_transit) / d, None when d = 0;
    - safety stock = z * sqrt(LT * sigma_d^2 + d^2 * sigma_LT^2);
    - projected stockout = `now` (the location's watermark) + days of cover; at
      risk when the cover is shorter than LT (the stockout would land inside the
      lead time).
    """
    _mean, variance = mean_pvariance(daily)
    demand = math.fsum(daily) / covered_days if covered_days > 0 else 0.0
    if lead_time is not None and lead_time.receipts > 0:
        lt, lt_std = lead_time.mean_days, lead_time.std_days
    else:
        lt, lt_std = default_lead_time_days, 0.0
    stock = max(on_hand, 0.0) + in_transit
    cover = stock / demand if demand > 0 else None
    safety = z * math.sqrt(max(lt, 0.0) * variance + demand * demand * lt_std * lt_std)
    projected = now + cover * DAY if cover is not None else None
    return Outlook(
        daily_demand=demand,
        demand_std=math.sqrt(variance),
        lead_time_days=lt,
        lead_time_std_days=lt_std,
        days_of_cover=cover,
        safety_stock=safety,
        projected_stockout_at=projected,
        at_risk=cover is not None and cover < lt,
    )
