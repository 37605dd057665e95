"""The planning system: policy changes, overrides, disruptions and time-to-replan.

Coverage (SPEC §4, working capital at risk): a disruption covers the
SKU-location `(location, sku)` whose supplier is `s` when every filter it
carries matches: its `locations` contain the location (empty = any location),
its `skus` contain the SKU (empty = any SKU) and, when it names a
`supplier_id`, `s` is that supplier (an unknown supplier is not covered). The
filters narrow, never widen. Working capital at risk, the disruption alert and
time-to-replan all use this one test.
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

    def names_location(self, location: str) -> bool:
        """Whether its location filter lets the location through (empty = any location).

        Necessary for coverage, not sufficient: see `covers`.
        """
        return not self.locations or location in self.locations

    def covers(self, location: str, sku: str, supplier: str | None) -> bool:
        """Whether the disruption covers the SKU-location (see the module docstring)."""
        if self.locations and location not in self.locations:
            return False
        if self.skus and sku not in self.skus:
            return False
        return self.supplier_id is None or self.supplier_id == supplier


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
    """Policy events of one location, sorted lazily by time.

    Recommendations are keyed by `recommendation_id` (the earliest publication of
    an id counts, by time then event id); an override matches the recommendation
    with its id at this location. An override processed while its recommendation
    is unknown is counted in `unmatched_overrides` (a lifetime counter: it stays
    counted if the recommendation arrives later) and never enters the ratio.
    """

    def __init__(self) -> None:
        self._applied: list[tuple[float, str, str]] = []  # (t, event_id, sku)
        self._applied_times: list[float] = []
        self._recommended: dict[str, tuple[float, str]] = {}  # id -> (t, event_id)
        self._by_time: list[tuple[float, str]] = []  # (t, recommendation_id), sorted
        self._times: list[float] = []
        self._overridden: dict[str, float] = {}  # recommendation_id -> earliest override
        self.unmatched_overrides = 0
        self._dirty = False

    def apply(self, t: float, event_id: str, sku: str) -> None:
        self._applied.append((t, event_id, sku))
        self._dirty = True

    def recommend(self, t: float, event_id: str, recommendation_id: str) -> None:
        kept = self._recommended.get(recommendation_id)
        if kept is None or (t, event_id) < kept:
            self._recommended[recommendation_id] = (t, event_id)
            self._dirty = True

    def override(self, t: float, recommendation_id: str) -> None:
        if recommendation_id not in self._recommended:
            self.unmatched_overrides += 1
        self._overridden[recommendation_id] = min(t, self._overridden.get(recommendation_id, t))

    def _sort(self) -> None:
        if self._dirty:
            self._applied.sort()
            self._applied_times = [a[0] for a in self._applied]
            self._by_time = sorted((t, rid) for rid, (t, _eid) in self._recommended.items())
            self._times = [t for t, _rid in self._by_time]
            self._dirty = False

    def counts(self, lo: float, hi: float) -> tuple[int, int, int]:
        """`(policies applied, recommendations overridden, recommendations)` in `(lo, hi]`.

        A recommendation is in the window by its time; its override may come at
        any time (matched by `recommendation_id`), so the share is within 0..1.
        """
        self._sort()
        i, j = bisect_right(self._times, lo), bisect_right(self._times, hi)
        overridden = self._overridden
        matched = sum(1 for _t, rid in self._by_time[i:j] if rid in overridden)
        return (
            bisect_right(self._applied_times, hi) - bisect_right(self._applied_times, lo),
            matched,
            j - i,
        )

    def first_applied(
        self, since: float, until: float | None, accept: Callable[[str], bool]
    ) -> float | None:
        """Time of the first `policy.applied` in `[since, until)` whose SKU `accept`s.

        `until` None: no end (the disruption is still active).
        """
        self._sort()
        for t, _event_id, sku in self._applied[bisect_left(self._applied_times, since) :]:
            if until is not None and t >= until:
                return None
            if accept(sku):
                return t
        return None

    def prune(self, cut: float) -> int:
        """Drop events before `cut`; returns how many.

        An override whose recommendation is pruned goes with it.
        """
        self._sort()
        k = bisect_left(self._applied_times, cut)
        r = bisect_left(self._times, cut)
        for _t, rid in self._by_time[:r]:
            del self._recommended[rid]
            self._overridden.pop(rid, None)
        orphans = [
            rid for rid, t in self._overridden.items() if t < cut and rid not in self._recommended
        ]
        for rid in orphans:
            del self._overridden[rid]
        del self._applied[:k], self._applied_times[:k], self._by_time[:r], self._times[:r]
        return k + r + len(orphans)
