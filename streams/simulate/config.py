"""`SimulationConfig`: everything that determines a simulated run.

Two runs with equal configs (and an explicit `start`) yield byte-identical
event sequences. `run_tag` turns the config into a short id stamped into every
event and entity id, so runs with different seeds or start times never collide
in the monitor's de-duplication, while re-running the same backfill is
idempotent (same ids, nothing counted twice).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True, slots=True)
class SimulationConfig:
    """Parameters of one simulated supply chain.

    Units: times are simulated seconds unless named otherwise; rates are per
    simulated hour or week as named. `speedup` (simulated seconds per wall
    second, 0 = unpaced) is read only by the wall-clock pacer
    (`streams.simulate.clock.Pacer`); it never changes the generated sequence.
    """

    seed: int
    locations: int = 4
    skus: int = 25  # per location (every location stocks the same catalogue)
    start: datetime | None = None  # None = now (UTC), taken once when generation starts
    speedup: float = 1.0
    events: int | None = None  # stop after this many events
    duration_seconds: float | None = None  # stop at this simulated time after start
    orders_per_hour: float = 20.0  # mean order arrivals per location per simulated hour
    disruptions_per_week: float = 3.0  # mean network-wide disruption reports per week
    suppliers: int = 5

    def __post_init__(self) -> None:
        if not 1 <= self.locations <= 500:
            raise ValueError("locations must be between 1 and 500")
        if not 1 <= self.skus <= 5000:
            raise ValueError("skus must be between 1 and 5000")
        if self.start is not None and self.start.utcoffset() is None:
            raise ValueError("start must carry a UTC offset")
        if self.speedup < 0:
            raise ValueError("speedup must be >= 0 (0 = unpaced)")
        if self.events is not None and self.events < 0:
            raise ValueError("events must be >= 0")
        if self.duration_seconds is not None and self.duration_seconds < 0:
            raise ValueError("duration_seconds must be >= 0")
        if self.orders_per_hour <= 0:
            raise ValueError("orders_per_hour must be > 0")
        if self.disruptions_per_week < 0:
            raise ValueError("disruptions_per_week must be >= 0")
        if not 1 <= self.suppliers <= 50:
            raise ValueError("suppliers must be between 1 and 50")

    def resolved_start(self) -> datetime:
        """The start instant in UTC: `start`, or the current wall-clock time when None."""
        start = self.start if self.start is not None else datetime.now(UTC)
        return start.astimezone(UTC)


def run_tag(config: SimulationConfig, start: datetime) -> str:
    """A short, deterministic id of the run (seed, world shape and start instant)."""
    key = (
        f"{config.seed}|{config.locations}|{config.skus}|{config.suppliers}|"
        f"{config.orders_per_hour}|{config.disruptions_per_week}|{start.isoformat()}"
    )
    return hashlib.blake2b(key.encode(), digest_size=4).hexdigest()
