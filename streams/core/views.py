"""Read-only views the alert evaluator consumes: one per SKU-location, one per disruption.

Times are epoch seconds (event time); money is dollars; quantities are units.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from streams.core.planning import DisruptionBook


@dataclass(frozen=True, slots=True)
class SkuLocationView:
    """Current position and uncertainty model of one SKU-location.

    `on_hand`, `value` and the stockout state use every event seen (not bounded
    by the watermark). Demand and lead-time figures are over the 30d window of
    the location (expected daily demand per covered day, fractional). The
    projected stockout is counted from the location's watermark.
    `days_of_cover` and `projected_stockout_at` are None when the expected daily
    demand is 0.
    """

    location: str
    sku: str
    sku_class: str | None
    supplier_id: str | None
    on_hand: float
    in_transit: float
    unit_cost: float
    value: float
    stocked_out: bool
    stockout_started_at: float | None
    expected_daily_demand: float
    demand_std: float
    lead_time_days: float
    lead_time_std_days: float
    days_of_cover: float | None
    safety_stock: float
    projected_stockout_at: float | None
    at_risk: bool
    has_open_strategic_orders: bool
    last_event_at: float


@dataclass(frozen=True, slots=True)
class DisruptionView:
    """A disruption with what it puts at risk now.

    `locations`/`skus` are as reported (empty = all). `covered` lists the
    `(location, sku)` pairs it covers among the SKU-locations seen (every filter
    it carries must match, its supplier included: `DisruptionRecord.covers`);
    `value_at_risk` is their current inventory value (dollars);
    `projected_stockouts` are the covered ones whose projected stockout falls
    inside their lead time.
    """

    disruption_id: str
    kind: str
    severity: str
    supplier_id: str | None
    locations: tuple[str, ...]
    skus: tuple[str, ...]
    expected_delay_days: float | None
    description: str
    reported_at: float
    resolved_at: float | None
    covered: tuple[tuple[str, str], ...]
    value_at_risk: float
    projected_stockouts: tuple[tuple[str, str], ...]

    @property
    def active(self) -> bool:
        """Reported and not resolved."""
        return self.resolved_at is None


def disruption_views(book: DisruptionBook, views: list[SkuLocationView]) -> list[DisruptionView]:
    """A view per disruption (by id); coverage is worked out for active ones only."""
    result: list[DisruptionView] = []
    for d in book.reported():
        resolved_at = book.resolved.get(d.disruption_id)
        covered = [
            v
            for v in (views if resolved_at is None else ())
            if d.covers(v.location, v.sku, v.supplier_id)
        ]
        result.append(
            DisruptionView(
                disruption_id=d.disruption_id,
                kind=d.kind,
                severity=d.severity,
                supplier_id=d.supplier_id,
                locations=d.locations,
                skus=d.skus,
                expected_delay_days=d.expected_delay_days,
                description=d.description,
                reported_at=d.reported_at,
                resolved_at=resolved_at,
                covered=tuple((v.location, v.sku) for v in covered),
                value_at_risk=math.fsum(v.value for v in covered),
                projected_stockouts=tuple((v.location, v.sku) for v in covered if v.at_risk),
            )
        )
    return result
