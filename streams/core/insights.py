"""The leaders' question (SPEC §4.3): did a KPI move on the prior window, and do the
seed's executive insights hold?

Pure functions over two readings of the same window: `current` and `prior`
(the same number of whole buckets just before it), each a mapping from a KPI's
short name (`streams.core.figures.PRIOR_KPIS`) to its value, an absent KPI being
left out.

A move is "up" or "down" when the change is beyond `noise` relative to the prior
(from a prior of 0, any positive value is up); otherwise it is unchanged. An
insight is 1 (holds), 0 (neutral) or -1 (violated); it is absent (None) when its
inputs are. Where an insight reads several inputs "none up and at least one
down", the inputs present are read and it is absent only when none is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

Move = Literal[-1, 0, 1]
Signal = Literal[-1, 0, 1]

INSIGHTS = (
    "turns_without_stockouts",
    "service_without_inventory",
    "fewer_surprises",
    "simultaneous_improvement",
)


def change_ratio(current: float | None, prior: float | None) -> float | None:
    """`(current - prior) / |prior|`; None when either is absent or the prior is 0."""
    if current is None or prior is None or prior == 0:
        return None
    return (current - prior) / abs(prior)


def move(current: float | None, prior: float | None, noise: float) -> Move | None:
    """1 up, -1 down, 0 unchanged (within `noise`, relative); None when either is absent.

    From a prior of 0, any positive value is up (and any negative one down).
    """
    if current is None or prior is None:
        return None
    if prior == 0:
        return 1 if current > 0 else -1 if current < 0 else 0
    change = (current - prior) / abs(prior)
    if change > noise:
        return 1
    if change < -noise:
        return -1
    return 0


def _family(moves: list[Move | None]) -> Move | None:
    """How a family fared from the moves of its inputs, each already oriented so that 1 is
    better: better when one improved and none worsened, worse when one worsened and none
    improved, otherwise unchanged; None when no input is present."""
    present = [m for m in moves if m is not None]
    if not present:
        return None
    better, worse = 1 in present, -1 in present
    if better and not worse:
        return 1
    if worse and not better:
        return -1
    return 0


def _flip(m: Move | None) -> Move | None:
    return None if m is None else -m  # type: ignore[return-value]


def insights(
    current: Mapping[str, float],
    prior: Mapping[str, float],
    noise: float,
    tolerance: float,
) -> dict[str, Signal | None]:
    """The four insight signals of a window (see the module docstring and SPEC §4.3).

    `tolerance` is how much the average inventory value may rise (relative) while
    fill rate rises for `service_without_inventory` to hold.
    """

    def m(kpi: str) -> Move | None:
        return move(current.get(kpi), prior.get(kpi), noise)

    turns, stockouts, fill = m("turns"), m("stockout_events"), m("fill_rate")
    out: dict[str, Signal | None] = {}

    # "AI should improve turns and reduce DIO without increasing stockout rates."
    if turns is None or stockouts is None:
        out["turns_without_stockouts"] = None
    elif turns == 1:
        out["turns_without_stockouts"] = -1 if stockouts == 1 else 1
    else:
        out["turns_without_stockouts"] = 0

    # "Higher service levels without uniform inventory increases."
    value_now, value_before = (
        current.get("average_inventory_value"),
        prior.get("average_inventory_value"),
    )
    if fill is None or value_now is None or value_before is None:
        out["service_without_inventory"] = None
    elif fill == 1:
        grew = move(value_now, value_before, tolerance) == 1
        out["service_without_inventory"] = -1 if grew else 1
    else:
        out["service_without_inventory"] = 0

    # "Fewer surprises and less firefighting."
    surprises = [m(k) for k in ("stockout_events", "expedite_cost_sales", "forecast_wape")]
    present = [s for s in surprises if s is not None]
    if not present:
        out["fewer_surprises"] = None
    elif sum(1 for s in present if s == 1) >= 2:
        out["fewer_surprises"] = -1
    elif 1 not in present and -1 in present:
        out["fewer_surprises"] = 1
    else:
        out["fewer_surprises"] = 0

    # "Simultaneous improvement across working capital, service and risk."
    families = (
        _family([turns, _flip(m("days_inventory_outstanding"))]),
        _family([fill]),
        _family([_flip(stockouts), _flip(m("working_capital_at_risk"))]),
    )
    if any(f is None for f in families):
        out["simultaneous_improvement"] = None
    elif any(f == -1 for f in families):
        out["simultaneous_improvement"] = -1
    elif all(f == 1 for f in families):
        out["simultaneous_improvement"] = 1
    else:
        out["simultaneous_improvement"] = 0
    return out
