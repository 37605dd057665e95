"""Shared pieces of the alert integration tests: isolated Redis prefixes and engine-like views."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog

from streams.core.views import DisruptionView, SkuLocationView


@pytest.fixture(autouse=True)
def _fresh_logging() -> None:
    """Undo a global structlog setup an earlier test bound to a since-closed capture stream."""
    structlog.reset_defaults()


@pytest.fixture
def run_id() -> str:
    """A unique tag for location codes, so Alertmanager queries see only this test's alerts."""
    return f"itest-{uuid.uuid4().hex[:10]}"


def sku_view(location: str, sku: str, **changes: Any) -> SkuLocationView:
    """A real engine view of one SKU-location, stocked out unless told otherwise."""
    now = time.time()
    fields: dict[str, Any] = {
        "location": location, "sku": sku, "sku_class": "B", "supplier_id": "SUP-1",
        "on_hand": 0.0, "in_transit": 0.0, "unit_cost": 4.0, "value": 0.0,
        "stocked_out": True, "stockout_started_at": now - 60, "expected_daily_demand": 3.0,
        "demand_std": 1.0, "lead_time_days": 7.0, "lead_time_std_days": 1.0,
        "days_of_cover": 0.0, "safety_stock": 5.0, "projected_stockout_at": now - 60,
        "at_risk": True, "has_open_strategic_orders": False, "last_event_at": now,
    }  # fmt: skip
    fields.update(changes)
    return SkuLocationView(**fields)


@dataclass
class Source:
    """An engine stand-in serving fixed views (the real view dataclasses)."""

    views: list[SkuLocationView] = field(default_factory=list)
    disruption_views: list[DisruptionView] = field(default_factory=list)
    kpis: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)

    def sku_locations(self) -> list[SkuLocationView]:
        return list(self.views)

    def disruptions(self) -> list[DisruptionView]:
        return list(self.disruption_views)

    def location_kpis(self, location: str, window: str) -> dict[str, float]:
        return dict(self.kpis.get((location, window), {}))

    def watermark(self, location: str) -> float | None:
        times = [v.last_event_at for v in self.views if v.location == location]
        return max(times) if times else None


@pytest.fixture
def make_view() -> Callable[..., SkuLocationView]:
    """Build a SKU-location view (stocked out by default)."""
    return sku_view


@pytest.fixture
def source() -> type[Source]:
    """The engine stand-in class."""
    return Source
