"""Customer demand: when orders arrive, what they contain, what was expected.

Order arrivals per location are a non-homogeneous Poisson process whose rate
follows a local daily and weekly profile, scaled by any active demand spikes.
Lines pick distinct SKUs by popularity; "lumpy" SKUs are picked rarely but in
large quantities, so their daily demand has a coefficient of variation well
above 1. Units: rates in orders per simulated second, quantities in units,
times in epoch seconds (UTC).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left

from streams.simulate.catalog import Catalog, Location, build_locations

# Share of orders with 1..5 lines.
LINE_COUNT_WEIGHTS: tuple[float, ...] = (0.35, 0.25, 0.20, 0.12, 0.08)
MEAN_LINES = sum((n + 1) * w for n, w in enumerate(LINE_COUNT_WEIGHTS))
_LINE_COUNT_CUM = tuple(sum(LINE_COUNT_WEIGHTS[: n + 1]) for n in range(5))
QUANTITY_CV = 0.6  # of a smooth order line's quantity
_SIGMA = math.sqrt(math.log(1 + QUANTITY_CV**2))
SPIKE_BOOST = 4.0  # popularity multiplier of the SKUs a demand spike names


def _normalised(values: list[float]) -> tuple[float, ...]:
    mean = sum(values) / len(values)
    return tuple(v / mean for v in values)


# Local hour of day -> relative intensity (mean 1).
_DAILY = {
    "dc": _normalised(
        [0.2] * 6
        + [0.6, 1.2, 1.8, 2.0, 2.0, 1.8, 1.6, 1.8, 1.9, 1.7, 1.3, 0.9]
        + [0.5, 0.4, 0.3, 0.3, 0.2, 0.2]
    ),
    "store": _normalised(
        [0.1] * 7
        + [0.3, 0.6, 1.0, 1.4, 1.6, 1.8, 1.7, 1.6, 1.6, 1.8, 2.0]
        + [1.9, 1.6, 1.1, 0.6, 0.3, 0.15]
    ),
}
# Local weekday (Monday = 0) -> relative intensity (mean 1).
_WEEKLY = {
    "dc": _normalised([1.15, 1.1, 1.1, 1.1, 1.05, 0.55, 0.45]),
    "store": _normalised([0.85, 0.85, 0.9, 0.95, 1.15, 1.35, 1.0]),
}


def _local(location: Location, epoch: float) -> tuple[int, int]:
    """(hour of day, weekday) at the location for a UTC epoch time."""
    local = epoch + location.utc_offset_hours * 3600.0
    days = math.floor(local / 86400.0)
    hour = int((local - days * 86400.0) // 3600.0)
    return hour, (days + 3) % 7  # 1970-01-01 was a Thursday


class DemandModel:
    """Arrival times, order lines and expected demand of every location."""

    def __init__(self, catalog: Catalog, orders_per_hour: float, rng: random.Random) -> None:
        self.catalog = catalog
        self.base_rate = [orders_per_hour * site.order_scale / 3600.0 for site in catalog.locations]
        self.weights: list[list[float]] = []  # per location, per SKU index
        self.cumulative: list[list[float]] = []
        self._boost_cache: dict[tuple[int, tuple[int, ...]], list[float]] = {}
        for index, _site in enumerate(catalog.locations):
            lines_per_day = self.base_rate[index] * 86400.0 * MEAN_LINES
            smooth = [sku.weight * rng.uniform(0.5, 1.5) for sku in catalog.skus]
            total = sum(w for w, sku in zip(smooth, catalog.skus, strict=True) if not sku.lumpy)
            row = []
            for weight, sku in zip(smooth, catalog.skus, strict=True):
                if sku.lumpy:  # a few lines a week at most
                    weight = max(total, 1e-9) * rng.uniform(0.1, 0.45) / lines_per_day
                row.append(weight)
            self.weights.append(row)
            running, cum = 0.0, []
            for weight in row:
                running += weight
                cum.append(running)
            self.cumulative.append(cum)

    def rate(self, loc: int, epoch: float, multiplier: float = 1.0) -> float:
        """Order arrivals per second at location index `loc` at `epoch`."""
        site = self.catalog.locations[loc]
        hour, weekday = _local(site, epoch)
        return (
            self.base_rate[loc] * _DAILY[site.kind][hour] * _WEEKLY[site.kind][weekday] * multiplier
        )

    def next_arrival(
        self, loc: int, epoch: float, rng: random.Random, multiplier: float = 1.0
    ) -> float:
        """Seconds until the next order at `loc` after `epoch`.

        Exact for the hourly piecewise-constant rate: an Exp(1) draw of
        cumulative intensity is spent hour by hour.
        """
        budget = rng.expovariate(1.0)
        waited = 0.0
        while True:
            now = epoch + waited
            rate = self.rate(loc, now, multiplier)
            to_next_hour = 3600.0 - now % 3600.0  # offsets are whole hours
            if rate * to_next_hour >= budget:
                return waited + budget / rate
            budget -= rate * to_next_hour
            waited += to_next_hour

    def line_count(self, rng: random.Random) -> int:
        draw = rng.random()
        for count, edge in enumerate(_LINE_COUNT_CUM, start=1):
            if draw <= edge:
                return min(count, len(self.catalog.skus))
        return min(5, len(self.catalog.skus))

    def pick_skus(self, loc: int, count: int, rng: random.Random, boosted: list[int]) -> list[int]:
        """`count` distinct SKU indexes by popularity (`boosted` ones SPIKE_BOOST times more)."""
        cum = self._boosted(loc, tuple(boosted)) if boosted else self.cumulative[loc]
        total = cum[-1]
        last = len(cum) - 1
        chosen: list[int] = []
        for _ in range(count * 4):
            index = min(bisect_left(cum, rng.random() * total), last)
            if index not in chosen:
                chosen.append(index)
                if len(chosen) == count:
                    break
        return chosen

    def _boosted(self, loc: int, boosted: tuple[int, ...]) -> list[float]:
        key = (loc, boosted)
        if key not in self._boost_cache:
            running, cum = 0.0, []
            for index, weight in enumerate(self.weights[loc]):
                running += weight * (SPIKE_BOOST if index in boosted else 1.0)
                cum.append(running)
            self._boost_cache[key] = cum
        return self._boost_cache[key]

    def quantity(self, loc: int, sku: int, rng: random.Random) -> int:
        """Units on one order line (lognormal around the location's line size)."""
        mean = self.catalog.locations[loc].line_quantity_mean * self.catalog.skus[sku].lumpy_factor
        draw = rng.lognormvariate(math.log(mean) - _SIGMA**2 / 2, _SIGMA)
        return max(1, round(draw))

    def units_per_order(self, loc: int, sku: int) -> float:
        """Expected units of `sku` per order at `loc`."""
        share = self.weights[loc][sku] / self.cumulative[loc][-1]
        mean_qty = (
            self.catalog.locations[loc].line_quantity_mean * self.catalog.skus[sku].lumpy_factor
        )
        return min(1.0, MEAN_LINES * share) * mean_qty

    def mean_daily(self, loc: int, sku: int) -> float:
        """Expected units of `sku` ordered at `loc` per day, averaged over a week."""
        return self.base_rate[loc] * 86400.0 * self.units_per_order(loc, sku)

    def expected(self, loc: int, sku: int, start_epoch: float, end_epoch: float) -> float:
        """Expected units of `sku` ordered at `loc` in [start_epoch, end_epoch), spikes aside."""
        orders, t = 0.0, start_epoch
        while t < end_epoch:
            step = min(3600.0 - t % 3600.0, end_epoch - t)
            orders += self.rate(loc, t) * step
            t += step
        return orders * self.units_per_order(loc, sku)


# Events per order in steady state (placed, dispatches, deliveries, picks, plus a
# share of snapshots, forecasts and the rest), measured on default worlds.
EVENTS_PER_ORDER = 5.3


def orders_per_hour_for(events_per_hour: float, locations: int) -> float:
    """The `orders_per_hour` (per location) that yields about `events_per_hour` in total."""
    scale = sum(site.order_scale for site in build_locations(locations))
    return events_per_hour / EVENTS_PER_ORDER / scale
