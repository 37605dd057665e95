"""The planning system: policy changes, overrides and disruptions.

Coverage (SPEC §4, working capital at risk): a disruption covers the
SKU-location `(location, sku)` whose supplier is `s` when every filter it
carries matches: its `locations` contain the location (empty = any location),
its `skus` contain the SKU (empty = any SKU) and, when it names a
`supplier_id`, `s` is that supplier (an unknown supplier is not covered). The
filters narrow, never widen. Working capital at risk, the disruption alert and
time-to-replan all use this one test.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass

from streams.core.windows import bucket_index


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
    """Policy events of one location: counts per closed bucket, raw events of open buckets.

    Policies applied are counted per bucket; for time-to-replan each closed bucket
    also keeps the first time each SKU's policy was applied in it (so the first
    replan after a disruption can be found without keeping every event), and
    `frozen` keeps replans worked out exactly from raw events before those were
    folded (`streams.core.replan`).

    Recommendations are keyed by `recommendation_id` within the window (the
    earliest publication of an id counts, by time then event id) and counted per
    bucket, with the matched ones (those with a `policy.overridden` of the same
    id at this location, at any time). An override processed while its
    recommendation is unknown is counted in `unmatched_overrides` (a lifetime
    counter: it stays counted if the recommendation arrives later) and never
    enters the ratio.
    """

    def __init__(self) -> None:
        self.recommended: dict[str, tuple[float, str]] = {}  # id -> (t, event_id)
        self.overridden: dict[str, float] = {}  # recommendation_id -> earliest override
        self.unmatched_overrides = 0
        self.open_applied: list[tuple[float, str, str]] = []  # (t, event_id, sku)
        self.open_recommended: set[str] = set()  # ids whose publication is in an open bucket
        self.applied: dict[int, int] = {}  # bucket -> policies applied
        self.recommendations: dict[int, int] = {}  # bucket -> recommendations
        self.matched: dict[int, int] = {}  # bucket -> recommendations overridden
        self.first_applied: dict[int, dict[str, float]] = {}  # bucket -> sku -> first time
        self.frozen: dict[str, float] = {}  # disruption_id -> time of its replan here

    # -- recording --------------------------------------------------------------------------

    def recommend(self, t: float, event_id: str, rid: str, open_from: float, size: float) -> None:
        kept = self.recommended.get(rid)
        if kept is not None and kept <= (t, event_id):
            return
        if kept is not None:
            self._count(rid, kept[0], -1, open_from, size)
        self.recommended[rid] = (t, event_id)
        self._count(rid, t, 1, open_from, size)

    def _count(self, rid: str, t: float, sign: int, open_from: float, size: float) -> None:
        if t >= open_from:
            if sign > 0:
                self.open_recommended.add(rid)
            else:
                self.open_recommended.discard(rid)
            return
        k = bucket_index(t, size)
        self.recommendations[k] = self.recommendations.get(k, 0) + sign
        if rid in self.overridden:
            self.matched[k] = self.matched.get(k, 0) + sign

    def override(self, t: float, rid: str, open_from: float, size: float) -> None:
        kept = self.recommended.get(rid)
        if kept is None:
            self.unmatched_overrides += 1
        first = rid not in self.overridden
        self.overridden[rid] = min(t, self.overridden.get(rid, t))
        if first and kept is not None and kept[0] < open_from:
            k = bucket_index(kept[0], size)
            self.matched[k] = self.matched.get(k, 0) + 1

    def apply_open(self, t: float, event_id: str, sku: str) -> None:
        """A policy applied in an open bucket."""
        self.open_applied.append((t, event_id, sku))

    def apply_closed(self, t: float, sku: str, size: float) -> None:
        """A policy applied in a closed bucket (folded, or late)."""
        k = bucket_index(t, size)
        self.applied[k] = self.applied.get(k, 0) + 1
        firsts = self.first_applied.get(k)
        if firsts is None:
            firsts = self.first_applied[k] = {}
        if t < firsts.get(sku, math.inf):
            firsts[sku] = t

    def fold(self, cut: float, size: float) -> list[tuple[float, str, str]]:
        """Close the open buckets before `cut`; returns the policies applied in them, sorted."""
        folded = sorted(a for a in self.open_applied if a[0] < cut)
        if folded:
            self.open_applied = [a for a in self.open_applied if a[0] >= cut]
            for t, _event_id, sku in folded:
                self.apply_closed(t, sku, size)
        for rid in sorted(self.open_recommended):
            t = self.recommended[rid][0]
            if t < cut:
                self.open_recommended.discard(rid)
                self._count(rid, t, 1, cut, size)
        return folded

    # -- reading ----------------------------------------------------------------------------

    def counts(self, lo: float, wm: float, open_from: float, size: float) -> tuple[int, int, int]:
        """`(policies applied, recommendations overridden, recommendations)` in `[lo, wm]`.

        A recommendation is in the window by its time; its override may come at
        any time (matched by `recommendation_id`), so the share is within 0..1.
        """
        k_lo, k_open = bucket_index(lo, size), bucket_index(open_from, size)

        def closed(cells: dict[int, int]) -> int:
            if k_open - k_lo < len(cells):
                return sum(cells.get(k, 0) for k in range(k_lo, k_open))
            return sum(n for k, n in cells.items() if k_lo <= k < k_open)

        applied = closed(self.applied) + sum(1 for a in self.open_applied if lo <= a[0] <= wm)
        recommended = [r for r in self.open_recommended if self.recommended[r][0] <= wm]
        return (
            applied,
            closed(self.matched) + sum(1 for r in recommended if r in self.overridden),
            closed(self.recommendations) + len(recommended),
        )

    def closed_counts(self, lo: int, hi: int) -> tuple[int, int, int]:
        """`(policies applied, recommendations overridden, recommendations)` of the closed
        buckets `lo <= k < hi` (a prior window, SPEC §4.3)."""

        def total(cells: dict[int, int]) -> int:
            return sum(n for k, n in cells.items() if lo <= k < hi)

        return total(self.applied), total(self.matched), total(self.recommendations)

    def first_closed(
        self,
        since: float,
        until: float | None,
        covered: Collection[str],
        open_from: float,
        size: float,
    ) -> float | None:
        """Earliest closed-bucket application in `[since, until)` of a covered SKU (first per
        SKU and bucket; None when there is none)."""
        k_since, k_open = bucket_index(since, size), bucket_index(open_from, size)
        for k in sorted(k for k in self.first_applied if k_since <= k < k_open):
            found = [
                t
                for sku, t in self.first_applied[k].items()
                if since <= t and (until is None or t < until) and sku in covered
            ]
            if found:
                return min(found)
        return None

    def first_open(
        self, since: float, until: float | None, covered: Collection[str]
    ) -> float | None:
        """Earliest open-bucket application in `[since, until)` of a covered SKU."""
        found = [
            t
            for t, _event_id, sku in self.open_applied
            if since <= t and (until is None or t < until) and sku in covered
        ]
        return min(found) if found else None

    # -- forgetting -----------------------------------------------------------------------

    def prune(self, k: int, cut: float) -> int:
        """Forget buckets before `k` and recommendations before `cut`; returns how many.

        An override whose recommendation is pruned goes with it.
        """
        dropped = 0
        for cells in (self.applied, self.recommendations, self.matched, self.first_applied):
            old = [key for key in cells if key < k]
            for key in old:
                del cells[key]  # type: ignore[attr-defined]
            dropped += len(old)
        gone = [rid for rid, (t, _eid) in self.recommended.items() if t < cut]
        for rid in gone:
            del self.recommended[rid]
            self.overridden.pop(rid, None)
        orphans = [
            rid for rid, t in self.overridden.items() if t < cut and rid not in self.recommended
        ]
        for rid in orphans:
            del self.overridden[rid]
        return dropped + len(gone) + len(orphans)
