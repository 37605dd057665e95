"""`SimulationConfig`: everything that determines a simulated run.

Two runs with equal configs (and an explicit `start`) yield byte-identical
event sequences. `run_tag` turns the config into a short id stamped into every
event and entity id, so runs with different seeds or start times never collide
in the monitor's de-duplication, while re-running the same backfill is
idempotent (same ids, nothing counted twice).

`scenario` picks the story the world tells: `steady` (the default) is the
stressed supply chain of `generator.py`; `adaptive-rollout` splits the run in
two at `rollout_at_seconds` and moves a `rollout_share` of SKU-locations from
planners' blanket buffers to the policy model's (`streams.simulate.rollout`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

STEADY = "steady"
ROLLOUT = "adaptive-rollout"
SCENARIOS: tuple[str, ...] = (STEADY, ROLLOUT)


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
    scenario: str = STEADY  # one of SCENARIOS
    rollout_share: float = 0.5  # adaptive-rollout: share of SKU-locations the model takes over
    # adaptive-rollout: when the model takes over (simulated seconds after start);
    # None = half of duration_seconds
    rollout_at_seconds: float | None = None

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
        if self.scenario not in SCENARIOS:
            raise ValueError(f"scenario must be one of {', '.join(SCENARIOS)}")
        if not 0.0 <= self.rollout_share <= 1.0:
            raise ValueError("rollout_share must be between 0 and 1")
        if self.rollout_at_seconds is not None and self.rollout_at_seconds < 0:
            raise ValueError("rollout_at_seconds must be >= 0")
        if self.scenario == ROLLOUT and self.rollout_at() is None:
            raise ValueError(
                "the adaptive-rollout scenario needs a period to split in two: "
                "give duration_seconds or rollout_at_seconds"
            )

    def rollout_at(self) -> float | None:
        """When the model takes over in `adaptive-rollout` (simulated seconds), else None."""
        if self.scenario != ROLLOUT:
            return None
        if self.rollout_at_seconds is not None:
            return self.rollout_at_seconds
        return None if self.duration_seconds is None else self.duration_seconds / 2

    def resolved_start(self) -> datetime:
        """The start instant in UTC: `start`, or the current wall-clock time when None."""
        start = self.start if self.start is not None else datetime.now(UTC)
        return start.astimezone(UTC)


def run_tag(config: SimulationConfig, start: datetime) -> str:
    """A short, deterministic id of the run (seed, world shape, start instant, scenario)."""
    key = (
        f"{config.seed}|{config.locations}|{config.skus}|{config.suppliers}|"
        f"{config.orders_per_hour}|{config.disruptions_per_week}|{start.isoformat()}"
    )
    if config.scenario != STEADY:  # steady runs keep the ids they always had
        key += f"|{config.scenario}|{config.rollout_share}|{config.rollout_at()}"
    return hashlib.blake2b(key.encode(), digest_size=4).hexdigest()
