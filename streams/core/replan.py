"""Time-to-replan: from a disruption to the first policy applied, while it is active.

For each disruption and each location it covers (`streams.core.coverage`):
seconds from the disruption's `occurred_at` to the first `policy.applied` at
that location, at or after it and before its resolution, for a SKU-location
the disruption covers there. A policy applied at or after the resolution is
not a replan: a disruption resolved without one is never observed.

The location keeps policies applied raw in its open buckets and, per closed
bucket, the first application of each SKU (`PlanningLog`); a replan found in
raw events just before they were folded is kept in `PlanningLog.frozen`. So
the first replan is exact, except for a disruption whose report is processed
after its own bucket closed at the location: there only each SKU's first
application of that bucket is known (docs/KPI_DEFINITIONS.md, "Late events").

A disruption that is still active and has no replan yet at a location is
*awaiting a replan* there: those are counted per location, with the report
time of the oldest, so a silent planning system shows (SPEC §4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from streams.core.coverage import LocationCoverage
from streams.core.location import LocationState
from streams.core.planning import DisruptionBook, DisruptionRecord


@dataclass(frozen=True, slots=True)
class ReplanStatus:
    """Time-to-replan observations and disruptions awaiting a replan at one location.

    `observations` are `(reported_at, seconds to the replan)`; `oldest_awaiting`
    is the report time (epoch seconds) of the oldest disruption awaiting a
    replan, None when none is.
    """

    observations: tuple[tuple[float, float], ...]
    awaiting: int
    oldest_awaiting: float | None


def first_replan(
    state: LocationState,
    record: DisruptionRecord,
    resolved_at: float | None,
    covered: frozenset[str],
    size: float,
) -> float | None:
    """Time of the first replan of the disruption at the location (None while there is none).

    The first `policy.applied` at the location in `[reported_at, resolved_at)` for a
    SKU in `covered`.
    """
    planning = state.planning
    since = record.reported_at
    found = planning.frozen.get(record.disruption_id)
    if found is not None and resolved_at is not None and found >= resolved_at:
        found = None
    closed = planning.first_closed(since, resolved_at, covered, state.open_from, size)
    if closed is not None:
        return closed if found is None else min(found, closed)
    if found is not None:
        return found
    return planning.first_open(since, resolved_at, covered)


def replan_status(
    state: LocationState, disruptions: DisruptionBook, coverage: LocationCoverage, size: float
) -> ReplanStatus:
    """Replans observed and disruptions awaiting one at the location (see the module docstring)."""
    observations: list[tuple[float, float]] = []
    awaiting = 0
    oldest = math.inf
    for record in disruptions.reported():
        if not record.names_location(state.code):
            continue
        covered = coverage.covered(record)
        if not covered:
            continue
        reported_at = record.reported_at
        resolved_at = disruptions.resolved.get(record.disruption_id)
        applied = first_replan(state, record, resolved_at, covered, size)
        if applied is not None:
            observations.append((reported_at, applied - reported_at))
        elif resolved_at is None:
            awaiting += 1
            oldest = min(oldest, reported_at)
    return ReplanStatus(tuple(observations), awaiting, oldest if awaiting else None)
