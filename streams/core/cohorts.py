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
from streams.core.orders import DispatchRecord, Key
from streams.core.service import Row

MODEL, PLANNER, NONE = COHORTS

Applied = tuple[float, str, str]
"""`(time, event id, recommendation id or "")` of a `policy.applied`."""


def source_of(recommendation: str, overridden: Container[str]) -> str:
    """The source of one applied policy naming `recommendation` ("" for none)."""
    return MODEL if recommendation and recommendation not in overridden else PLANNER


def policy_source(applied: Sequence[Applied] | None, t: float, overridden: Container[str]) -> str:
    """The `policy_source` in force at `t` (see the module docstring)."""
    if not applied:
        return NONE
    i = bisect_right(applied, t, key=lambda entry: entry[0])
    if i == 0:
        return NONE
    return source_of(applied[i - 1][2], overridden)


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
            sources = [NONE] + [source_of(rid, overridden) for _t, _eid, rid in applied]
            out[sku] = (times, sources)
    return out


LineColumns = dict[str, tuple[list[int], list[float], list[float]]]
"""Per policy source, its order lines: `(row index, units ordered, units shipped capped)`."""


def line_sources(
    rows: Sequence[Row],
    policies: Mapping[str, Sequence[Applied]],
    overridden: Container[str],
    dispatches: Mapping[Key, list[DispatchRecord]],
) -> LineColumns:
    """The rows' order lines by the policy source in force at their order's placement.

    Units shipped are capped per line, as fill rate counts them; a row's lines are read
    from its dispatches only when some line is short.
    """
    timelines = sources_by_sku(policies, overridden)
    out: LineColumns = {source: ([], [], []) for source in COHORTS}
    for i, (_promised, order, served) in enumerate(rows):
        sent: dict[str, float] | None = None
        if served.shipped != served.ordered:
            sent = {}
            for dispatch in dispatches.get(order.key, ()):
                for line_id, _sku, quantity in dispatch.lines:
                    sent[line_id] = sent.get(line_id, 0.0) + quantity
        placed = order.placed_at
        for line_id, sku, quantity, _price in order.lines:
            timeline = timelines.get(sku)
            if timeline is None:
                source = NONE
            else:
                times, sources = timeline
                source = sources[bisect_right(times, placed)]
            index, ordered, shipped = out[source]
            index.append(i)
            ordered.append(quantity)
            shipped.append(quantity if sent is None else min(sent.get(line_id, 0.0), quantity))
    return out
