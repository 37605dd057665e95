"""Engine-wide settings and shared state that a location's code reads.

The shared state is small and global: disruptions (they span locations) and
supplier lead-time statistics (a supplier serves many locations). Everything
keyed by a location lives in its `LocationState`.
"""

from __future__ import annotations

from dataclasses import dataclass

from streams.core.planning import DisruptionBook
from streams.core.uncertainty import LeadTime, LeadTimeBook
from streams.core.windows import DAY, parse_duration
from streams.settings import KpiSettings

UNCERTAINTY_WINDOW = 30 * DAY
"""Span of the uncertainty model and of the cost-to-service points (the 30d window).

The model's expected daily demand `d` feeds days of cover, safety stock, the
projected stockout and E&O alike, so E&O does not depend on a KPI window.
"""


def kept_span(settings: KpiSettings) -> float:
    """Seconds of buckets a location keeps: every window and, before it, its prior window
    (SPEC §4.3), at least the 30d uncertainty model."""
    longest = max(parse_duration(label) for label in settings.windows)
    return max(UNCERTAINTY_WINDOW, 2 * longest)


@dataclass
class Context:
    """Settings, derived constants and the global books (see the module docstring)."""

    settings: KpiSettings
    windows: tuple[tuple[str, float], ...]  # (label, seconds)
    z: float
    size: float  # bucket length (s)
    span: float  # longest span any figure reads: longest window or the 30d model (s)
    keep: float  # span of buckets kept: `span`, or twice the longest window for its prior (s)
    suppliers: LeadTimeBook[str]
    disruptions: DisruptionBook

    @classmethod
    def of(cls, settings: KpiSettings, z: float) -> Context:
        windows = tuple((label, parse_duration(label)) for label in settings.windows)
        span = max([UNCERTAINTY_WINDOW] + [seconds for _label, seconds in windows])
        return cls(
            settings=settings,
            windows=windows,
            z=z,
            size=float(settings.bucket_seconds),
            span=span,
            keep=kept_span(settings),
            suppliers=LeadTimeBook(),
            disruptions=DisruptionBook(),
        )

    @property
    def lateness(self) -> float:
        return float(self.settings.allowed_lateness_seconds)

    def horizon_start(self, open_from: float) -> float:
        """Oldest instant any figure of a location reads, from its first open bucket's start.

        An event before it is dropped (counted late); state before it is pruned.
        """
        return open_from - self.span + self.size

    def retention_start(self, open_from: float) -> float:
        """Oldest instant whose per-bucket totals a location keeps: the prior windows' start
        (SPEC §4.3). Totals between it and `horizon_start` are read, never written again."""
        return open_from - self.keep + self.size

    def supplier_lead_time(self, supplier: str | None) -> LeadTime | None:
        """The supplier's receipts (every location), None without any."""
        if supplier is None:
            return None
        found = self.suppliers.stats(supplier)
        return found if found.receipts else None
