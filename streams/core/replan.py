"""Time-to-replan: from a disruption to the first policy applied for what it covers.

For each disruption and each location it covers (its `locations`, or every
location when empty): seconds from the disruption's `occurred_at` to the first
`policy.applied` at that location, at or after it, for an SKU-location the
disruption covers. No observation while there is none.
"""

from __future__ import annotations

from streams.core.location import LocationState
from streams.core.planning import DisruptionBook, DisruptionRecord


def first_replan(state: LocationState, record: DisruptionRecord, since: float) -> float | None:
    """Time of the first `policy.applied` at the location, at or after `since`, for an
    SKU-location the disruption covers (None while there is none)."""

    def covered(sku: str) -> bool:
        found = state.skus.get(sku)
        return record.covers(state.code, sku, found.supplier if found is not None else None)

    return state.planning.first_applied(since, covered)


def replans(state: LocationState, disruptions: DisruptionBook) -> list[tuple[float, float]]:
    """`(reported_at, seconds to the first covering policy.applied)` per covering disruption."""
    result: list[tuple[float, float]] = []
    for record in disruptions.reported():
        reported_at = record.reported_at
        if not record.covers_location(state.code):
            continue
        seconds = state.frozen_replans.get(record.disruption_id)
        if seconds is None:
            applied = first_replan(state, record, reported_at)
            seconds = applied - reported_at if applied is not None else None
        if seconds is not None:
            result.append((reported_at, seconds))
    return result
