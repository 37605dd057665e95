"""Who set the policy in force (SPEC §4.3): the `policy_source` cohort of a SKU-location.

A SKU-location's policies applied are `(time, event id, recommendation id or "")`,
sorted. The one in force at `t` is the latest applied at or before `t`; its
source is `model` when it names a recommendation that was not overridden,
`planner` for any other applied policy (an override, or none named), and
`none` before any policy was applied. The source is read against the overrides
known when it is read, so within open buckets it does not depend on whether the
override or the application arrived first.

Facts count in the cohort in force at their time: an order line at its order's
placement; a bucket's value integral and COGS at the bucket's start (per
SKU-location and bucket, `streams.core.columns.CohortColumns`), so a policy
applied during a day moves its SKU-location from the next bucket on.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Container, Mapping, Sequence

from streams.core.figures import COHORTS

MODEL, PLANNER, NONE = COHORTS

Applied = tuple[float, str, str]
"""`(time, event id, recommendation id or "")` of a `policy.applied`."""


def policy_source(applied: Sequence[Applied] | None, t: float, overridden: Container[str]) -> str:
    """The `policy_source` in force at `t` (see the module docstring)."""
    if not applied:
        return NONE
    i = bisect_right(applied, t, key=lambda entry: entry[0])
    if i == 0:
        return NONE
    recommendation = applied[i - 1][2]
    return MODEL if recommendation and recommendation not in overridden else PLANNER


def changes_within(applied: Sequence[Applied] | None, lo: float, hi: float) -> bool:
    """Whether a policy was applied in `(lo, hi)`: the source may differ between buckets."""
    if not applied:
        return False
    i = bisect_right(applied, lo, key=lambda entry: entry[0])
    return i < len(applied) and applied[i][0] < hi


def sources_by_sku(
    policies: Mapping[str, Sequence[Applied]], overridden: Container[str]
) -> dict[str, tuple[list[float], list[str]]]:
    """Per SKU, `(times, sources)`: the source in force at `t` is
    `sources[bisect_right(times, t)]` (`sources[0]` is `none`, before the first policy)."""
    out: dict[str, tuple[list[float], list[str]]] = {}
    for sku, applied in policies.items():
        if applied:
            times = [entry[0] for entry in applied]
            sources = [NONE] + [
                MODEL if rid and rid not in overridden else PLANNER for _t, _eid, rid in applied
            ]
            out[sku] = (times, sources)
    return out
