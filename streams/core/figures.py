"""The computed KPIs of one location: plain numbers, before they become samples.

Ratios are properties that return None when their denominator is 0 (or the
window covers no time), which the exporter renders as an absent series.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from streams.core.forecast import ForecastError
from streams.core.ratios import median, ratio
from streams.core.service import Population
from streams.core.views import SkuLocationView

MILLION = 1_000_000.0


COHORTS = ("model", "planner", "none")
"""`policy_source` values (SPEC §4.3): who set the policy in force."""


@dataclass(frozen=True, slots=True)
class CohortFigures:
    """Service and working-capital numerators and denominators of one policy source over a
    window: order lines placed while that source's policy was in force, and the value and
    COGS of its SKU-locations' buckets (money in $)."""

    policy_source: str
    units_ordered: float
    units_shipped: float
    cogs: float
    average_value: float | None  # None when the window covers no time


@dataclass(frozen=True, slots=True)
class WindowFigures:
    """KPIs of one location over one trailing window (money in $, times in s)."""

    window: str
    covered_days: float
    cogs: float
    average_value: float | None  # None when the window covers no time
    current_value: float
    service: Population
    stockouts: int
    forecast: ForecastError
    expedite_cost: float
    sales: float
    cost_to_service_slope: float | None
    working_capital_at_risk: float
    policy_changes: int
    sku_locations: int
    overrides: int  # recommendations of the window that were overridden
    recommendations: int
    replans: tuple[float, ...]  # time-to-replan of disruptions reported in the window
    # The same KPIs over the prior window (SPEC §4.3); None while there is none.
    prior: WindowFigures | None = None
    insights: tuple[tuple[str, int], ...] = ()  # (insight, 1 / 0 / -1), absent ones left out
    cohorts: tuple[CohortFigures, ...] = ()  # by policy source, in COHORTS order

    @property
    def turns(self) -> float | None:
        """COGS ÷ average value * 365 ÷ window days (1/year)."""
        if not self.average_value or not self.covered_days:
            return None
        return self.cogs / self.average_value * 365.0 / self.covered_days

    @property
    def days_inventory_outstanding(self) -> float | None:
        """Average value ÷ COGS * window days (days)."""
        if self.average_value is None or not self.cogs or not self.covered_days:
            return None
        return self.average_value / self.cogs * self.covered_days

    @property
    def fill_rate(self) -> float | None:
        return ratio(self.service.total.shipped, self.service.total.ordered)

    @property
    def line_fill_rate(self) -> float | None:
        return ratio(self.service.total.lines_filled, self.service.total.lines)

    @property
    def otif(self) -> float | None:
        return ratio(self.service.total.otif, self.service.total.orders)

    @property
    def expedite_cost_sales(self) -> float | None:
        return ratio(self.expedite_cost, self.sales)

    @property
    def service_per_million(self) -> float | None:
        """Fill rate ÷ (average value ÷ 1e6) (1/$1M)."""
        fill_rate = self.fill_rate
        if fill_rate is None or not self.average_value:
            return None
        return fill_rate / (self.average_value / MILLION)

    @property
    def policy_changes_per_sku_location(self) -> float | None:
        return ratio(self.policy_changes, self.sku_locations)

    @property
    def override_rate(self) -> float | None:
        """Share of the window's recommendations that were overridden (0..1)."""
        return ratio(self.overrides, self.recommendations)

    @property
    def replan_median(self) -> float | None:
        return median(self.replans)

    @property
    def working_capital_at_risk_share(self) -> float | None:
        """WCaR ÷ current inventory value (for alert rules on a share of value)."""
        return ratio(self.working_capital_at_risk, self.current_value)


PRIOR_KPIS = (
    "turns",
    "days_inventory_outstanding",
    "average_inventory_value",
    "fill_rate",
    "line_fill_rate",
    "otif",
    "stockout_events",
    "forecast_wape",
    "forecast_mape",
    "expedite_cost_sales",
    "service_per_million",
    "policy_changes_per_sku_location",
    "planner_override",
    "time_to_replan_median_seconds",
    # The numerators and denominators of those ratios (SPEC §5: a board sums them for the
    # network-wide prior, as it does for the current window).
    "cogs",
    "covered_days",
    "units_ordered",
    "units_shipped",
    "order_lines",
    "order_lines_filled",
    "orders_due",
    "orders_otif",
    "expedite_cost",
    "sales",
    "forecast_abs_error",
    "forecast_actual",
    "policy_changes",
    "policy_overrides",
    "policy_recommendations",
)
"""The windowed figures compared with their prior window (`kpi` label values, SPEC §4.3)."""


def window_kpis(w: WindowFigures) -> dict[str, float]:
    """The `PRIOR_KPIS` of a window by name; absent or non-finite ones are left out."""
    service = w.service.total
    values: dict[str, float | None] = {
        "turns": w.turns,
        "days_inventory_outstanding": w.days_inventory_outstanding,
        "average_inventory_value": w.average_value,
        "fill_rate": w.fill_rate,
        "line_fill_rate": w.line_fill_rate,
        "otif": w.otif,
        "stockout_events": float(w.stockouts),
        "forecast_wape": w.forecast.wape,
        "forecast_mape": w.forecast.mape,
        "expedite_cost_sales": w.expedite_cost_sales,
        "service_per_million": w.service_per_million,
        "policy_changes_per_sku_location": w.policy_changes_per_sku_location,
        "planner_override": w.override_rate,
        "time_to_replan_median_seconds": w.replan_median,
        "cogs": w.cogs,
        "covered_days": w.covered_days,
        "units_ordered": service.ordered,
        "units_shipped": service.shipped,
        "order_lines": float(service.lines),
        "order_lines_filled": float(service.lines_filled),
        "orders_due": float(service.orders),
        "orders_otif": float(service.otif),
        "expedite_cost": w.expedite_cost,
        "sales": w.sales,
        "forecast_abs_error": w.forecast.abs_error,
        "forecast_actual": w.forecast.actual,
        "policy_changes": float(w.policy_changes),
        "policy_overrides": float(w.overrides),
        "policy_recommendations": float(w.recommendations),
    }
    return {k: v for k, v in values.items() if v is not None and math.isfinite(v)}


@dataclass(frozen=True, slots=True)
class PeriodPoint:
    """One point of the cost-to-service curve: a complete period of the location."""

    start: float
    label: str
    fill_rate: float | None
    average_value: float | None


@dataclass(frozen=True, slots=True)
class LocationFigures:
    """Every KPI of one location (money in $, times in epoch seconds or seconds)."""

    location: str
    watermark: float
    value: float
    sku_locations: int
    excess_obsolete: float | None  # point in time; None while the model covers no time
    windows: tuple[WindowFigures, ...]
    views: tuple[SkuLocationView, ...]
    periods: tuple[PeriodPoint, ...]
    replans: tuple[float, ...]  # every time-to-replan observed (s), sorted
    awaiting_replan: int  # active disruptions covering the location, not replanned yet
    oldest_awaiting_at: float | None  # report time of the oldest of them
    counters: tuple[tuple[str, float], ...]  # (metric name, lifetime total)

    @property
    def excess_obsolete_ratio(self) -> float | None:
        """E&O value ÷ current inventory value; None when either is absent or the value is 0."""
        if self.excess_obsolete is None:
            return None
        return ratio(self.excess_obsolete, self.value)

    @property
    def oldest_unreplanned_age(self) -> float | None:
        """Seconds from the oldest awaiting disruption's report to the watermark (>= 0).

        Measured against the location's watermark (event time, like every other
        figure), so a replay ages it the same way; None when nothing awaits a replan.
        """
        if self.oldest_awaiting_at is None:
            return None
        return max(0.0, self.watermark - self.oldest_awaiting_at)

    @property
    def stocked_out(self) -> int:
        return sum(view.stocked_out for view in self.views)

    @property
    def projected_stockouts(self) -> int:
        return sum(view.at_risk for view in self.views)

    def closest_to_stockout(self, limit: int) -> list[SkuLocationView]:
        """The `limit` SKU-locations with the fewest days of cover (ties by SKU)."""
        covered = [v for v in self.views if v.days_of_cover is not None]
        covered.sort(key=lambda v: (v.days_of_cover, v.sku))
        return covered[:limit]

    def kpis(self, window: str) -> dict[str, float]:
        """The ratio KPIs of a window by short name; absent KPIs are left out."""
        found = next((w for w in self.windows if w.window == window), None)
        if found is None:
            return {}
        values: dict[str, float | None] = {
            "fill_rate": found.fill_rate,
            "line_fill_rate": found.line_fill_rate,
            "otif": found.otif,
            "turns": found.turns,
            "days_inventory_outstanding": found.days_inventory_outstanding,
            "excess_obsolete": self.excess_obsolete_ratio,
            "stockout_events": float(found.stockouts),
            "forecast_wape": found.forecast.wape,
            "forecast_mape": found.forecast.mape,
            "expedite_cost_sales": found.expedite_cost_sales,
            "expedite_cost": found.expedite_cost,
            "sales": found.sales,
            "service_per_million": found.service_per_million,
            "cost_to_service_slope": found.cost_to_service_slope,
            "working_capital_at_risk": found.working_capital_at_risk,
            "working_capital_at_risk_share": found.working_capital_at_risk_share,
            "inventory_value": self.value,
            "average_inventory_value": found.average_value,
            "policy_changes_per_sku_location": found.policy_changes_per_sku_location,
            "planner_override": found.override_rate,
            "time_to_replan_median_seconds": found.replan_median,
            "covered_days": found.covered_days,
        }
        # A non-finite figure (an overflow the input bounds missed) is absent, never served.
        return {
            name: value
            for name, value in values.items()
            if value is not None and math.isfinite(value)
        }
