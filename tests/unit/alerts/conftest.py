"""Plain dataclasses standing in for the KPI engine's views in alert tests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest

DAY = 86400.0


@dataclass(frozen=True)
class Sku:
    location: str = "DC1"
    sku: str = "SKU-1"
    sku_class: str | None = "B"
    supplier_id: str | None = "SUP-1"
    on_hand: float = 10.0
    in_transit: float = 0.0
    unit_cost: float = 5.0
    value: float = 50.0
    stocked_out: bool = False
    stockout_started_at: float | None = None
    expected_daily_demand: float = 1.0
    demand_std: float = 0.5
    lead_time_days: float = 7.0
    lead_time_std_days: float = 1.0
    days_of_cover: float | None = 10.0
    safety_stock: float = 3.0
    projected_stockout_at: float | None = 10 * DAY
    at_risk: bool = False
    has_open_strategic_orders: bool = False
    last_event_at: float = 0.0


@dataclass(frozen=True)
class Disruption:
    disruption_id: str = "D1"
    kind: str = "supplier_delay"
    severity: str = "high"
    supplier_id: str | None = "SUP-1"
    locations: tuple[str, ...] = ("DC1",)
    skus: tuple[str, ...] = ()
    expected_delay_days: float | None = 5.0
    description: str = "Supplier plant fire"
    reported_at: float = 100.0
    resolved_at: float | None = None
    covered: tuple[tuple[str, str], ...] = (("DC1", "SKU-1"), ("DC1", "SKU-2"))
    value_at_risk: float = 12500.0
    projected_stockouts: tuple[tuple[str, str], ...] = (("DC1", "SKU-2"),)


@dataclass
class Engine:
    """A KpiSource over fixed views and KPI figures."""

    skus: list[Sku] = field(default_factory=list)
    disruption_list: list[Disruption] = field(default_factory=list)
    kpis: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)
    watermarks: dict[str, float] = field(default_factory=dict)

    def sku_locations(self) -> list[Sku]:
        return list(self.skus)

    def disruptions(self) -> list[Disruption]:
        return list(self.disruption_list)

    def location_kpis(self, location: str, window: str) -> dict[str, float]:
        return dict(self.kpis.get((location, window), {}))

    def watermark(self, location: str) -> float | None:
        return self.watermarks.get(location)


@pytest.fixture
def sku() -> Callable[..., Sku]:
    """Build a SKU-location view with some fields changed."""

    def make(**changes: Any) -> Sku:
        return replace(Sku(), **changes)

    return make


@pytest.fixture
def disruption() -> Callable[..., Disruption]:
    """Build a disruption view with some fields changed."""

    def make(**changes: Any) -> Disruption:
        return replace(Disruption(), **changes)

    return make


@pytest.fixture
def engine() -> type[Engine]:
    """The fake KpiSource class."""
    return Engine
