"""The planning system: policy changes, overrides, disruptions and time-to-replan.

Coverage reading (docs/KPI_DEFINITIONS.md, working capital at risk): a
disruption covers the SKU-location `(location, sku)` with supplier `s` when
its `locations` contain the location (empty = every location) and either its
`skus` contain the SKU (empty = every SKU) or its `supplier_id` is `s`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DisruptionRecord:
    """One `disruption.reported` publication (times in epoch seconds)."""

    disruption_id: str
    event_id: str
    reported_at: float
    kind: str
    severity: str
    supplier_id: str | None
    locations: tuple[str, ...]
    skus: tuple[str, ...]
    expected_delay_days: float | None
    description: str

    def covers_location(self, location: str) -> bool:
        return not self.locations or location in self.locations

    def covers(self, location: str, sku: str, supplier: str | None) -> bool:
        """Whether the disruption covers the SKU-location (see the module docstring)."""
        if not self.covers_location(location):
            return False
        if not self.skus or sku in self.skus:
            return True
        return self.supplier_id is not None and self.supplier_id == supplier


class DisruptionBook:
    """Disruptions seen: the earliest report of each id (by time, then event id) counts."""

    def __init__(self) -> None:
        self.reports: dict[str, DisruptionRecord] = {}
        self.resolved: dict[str, float] = {}

    def report(self, record: DisruptionRecord) -> None:
        """Record a report; a later re-report of the same id changes nothing."""
        kept = self.reports.get(record.disruption_id)
        if kept is None or (record.reported_at, record.event_id) < (
            kept.reported_at,
            kept.event_id,
        ):
            self.reports[record.disruption_id] = record

    def resolve(self, disruption_id: str, t: float) -> None:
        """Record a resolution; the earliest one counts."""
        self.resolved[disruption_id] = min(t, self.resolved.get(disruption_id, t))

    def reported(self) -> list[DisruptionRecord]:
        """Every reported disruption, by id."""
        return [self.reports[k] for k in sorted(self.reports)]

    def active(self) -> list[DisruptionRecord]:
        """Reported and not resolved (a resolution at any time counts), by id."""
        return [self.reports[k] for k in sorted(self.reports) if k not in self.resolved]


class PlanningLog:
    """Policy events of one location, sorted lazily by time."""

    def __init__(self) -> None:
        self._applied: list[tuple[float, str, str]] = []  # (t, event_id, sku)
        self._applied_times: list[float] = []
        self._recommended: list[float] = []
        self._overridden: list[float] = []
        self._dirty = False

    def apply(self, t: float, event_id: str, sku: str) -> None:
        self._applied.append((t, event_id, sku))
        self._dirty = True

    def recommend(self, t: float) -> None:
        self._recommended.append(t)
        self._dirty = True

    def override(self, t: float) -> None:
        self._overridden.append(t)
        self._dirty = True

    def _sort(self) -> None:
        if self._dirty:
            self._applied.sort()
            self._applied_times = [a[0] for a in self._applied]
            self._recommended.sort()
            self._overridden.sort()
            self._dirty = False

    def counts(self, lo: float, hi: float) -> tuple[int, int, int]:
        """`(policies applied, overrides, recommendations)` in `(lo, hi]`."""
        self._sort()
        return (
            bisect_right(self._applied_times, hi) - bisect_right(self._applied_times, lo),
            bisect_right(self._overridden, hi) - bisect_right(self._overridden, lo),
            bisect_right(self._recommended, hi) - bisect_right(self._recommended, lo),
        )

    def first_applied(self, since: float, accept: Callable[[str], bool]) -> float | None:
        """Time of the first `policy.applied` at or after `since` whose SKU `accept`s."""
        self._sort()
        for t, _event_id, sku in self._applied[bisect_left(self._applied_times, since) :]:
            if accept(sku):
                return t
        return None

    def prune(self, cut: float) -> int:
        """Drop events before `cut`; returns how many."""
        self._sort()
        k = bisect_left(self._applied_times, cut)
        r = bisect_left(self._recommended, cut)
        o = bisect_left(self._overridden, cut)
        del self._applied[:k], self._applied_times[:k], self._recommended[:r], self._overridden[:o]
        return k + r + o
