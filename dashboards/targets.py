"""Operating targets the boards colour KPIs against.

One place for every threshold a board draws, so a target changes in one line.
Service targets follow the monitor's defaults (`KpiSettings.service_target` is
0.95 for fill rate); the others are common supply-chain operating targets and
should stay in step with the alert rules in `alerts/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher", "lower", "neutral"]


@dataclass(frozen=True, slots=True)
class Target:
    """A KPI target: `value` is the goal, `limit` where amber turns red.

    `amber` is where a lower-is-better KPI leaves green (default: the target
    itself); counts whose target is zero set it to 1.
    """

    value: float
    limit: float
    direction: Direction
    amber: float | None = None

    def describe(self, unit: str = "") -> str:
        """Human wording for a panel description, e.g. 'target ≥ 0.95'."""
        sign = {"higher": "≥", "lower": "≤", "neutral": "~"}[self.direction]
        return f"target {sign} {self.value:g}{unit}"


# Service (higher is better).
FILL_RATE = Target(0.95, 0.90, "higher")
LINE_FILL_RATE = Target(0.90, 0.85, "higher")
OTIF = Target(0.90, 0.85, "higher")

# Working capital.
TURNS = Target(8.0, 6.0, "higher")
DIO_DAYS = Target(45.0, 60.0, "lower")
EXCESS_OBSOLETE = Target(0.05, 0.10, "lower")
WORKING_CAPITAL_AT_RISK_SHARE = Target(0.15, 0.30, "lower")

# Risk.
STOCKOUT_EVENTS = Target(0.0, 10.0, "lower", amber=1.0)
STOCKED_OUT_NOW = Target(0.0, 5.0, "lower", amber=1.0)
PROJECTED_STOCKOUTS = Target(0.0, 10.0, "lower", amber=1.0)
WAPE = Target(0.30, 0.50, "lower")
MAPE = Target(0.35, 0.60, "lower")
EXPEDITE_SHARE = Target(0.02, 0.05, "lower")
DAYS_OF_COVER = Target(14.0, 7.0, "higher")

# Planning system.
POLICY_CHANGES_PER_SKU_LOCATION = Target(1.0, 2.0, "lower")
OVERRIDE_RATE = Target(0.10, 0.25, "lower")
TIME_TO_REPLAN_SECONDS = Target(4 * 3600.0, 24 * 3600.0, "lower")
AWAITING_REPLAN = Target(0.0, 3.0, "lower", amber=1.0)

# Period over period (SPEC §4.3): a KPI moved on its prior window only beyond this relative
# change; keep in step with `KpiSettings.insight_noise` (default 1 %), which the insights use.
INSIGHT_NOISE = 0.01

# Pipeline health.
SNAPSHOT_AGE_SECONDS = Target(30.0, 120.0, "lower")
CONSUMER_LAG_MESSAGES = Target(1000.0, 10000.0, "lower")
EVENT_LAG_SECONDS = Target(60.0, 300.0, "lower")
DLQ_SHARE = Target(0.01, 0.05, "lower")
SCRAPE_SECONDS = Target(1.0, 5.0, "lower")
FAILED_DELIVERIES = Target(0.0, 10.0, "lower", amber=1.0)
SCRAPE_UP = Target(1.0, 1.0, "higher")
FIRING_ALERTS = Target(0.0, 1.0, "lower", amber=1.0)
