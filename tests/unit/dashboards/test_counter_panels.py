"""Board queries respect what each series is: counters only go up, E&O has no window, and the
on-call board shows the disruptions a silent planning system leaves waiting."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dashboards.queries import metric_names, substitute, targets

# Histograms prometheus_client keeps in the worker process: their _bucket/_count/_sum only go
# up (the KPI histogram inventory_time_to_replan_seconds can be revised, so it is not here).
MONOTONIC_HISTOGRAMS = (
    "kpimon_event_lag_seconds",
    "kpimon_worker_batch_messages",
    "kpimon_worker_snapshot_seconds",
)
_RANGE_FUNCTION = re.compile(r"\b(rate|irate|increase|resets)\s*\(")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def range_arguments(expr: str) -> list[str]:
    """The argument text of every rate()/irate()/increase()/resets() call of an expression."""
    # Parentheses inside label values do not count: blank the strings out first.
    masked = _STRING.sub(lambda m: '"' + " " * (len(m.group()) - 2) + '"', expr)
    found: list[str] = []
    for match in _RANGE_FUNCTION.finditer(masked):
        depth, start = 1, match.end()
        for index in range(start, len(masked)):
            depth += {"(": 1, ")": -1}.get(masked[index], 0)
            if depth == 0:
                found.append(expr[start:index])
                break
    return found


def monotonic(name: str) -> bool:
    """A `_total` counter, or a series of a histogram that only goes up."""
    if name.endswith("_total"):
        return True
    return any(
        name == f"{h}{suffix}"
        for h in MONOTONIC_HISTOGRAMS
        for suffix in ("_bucket", "_count", "_sum")
    )


@pytest.mark.parametrize(
    ("expr", "arguments"),
    [
        ("sum(rate(a_total[5m])) / sum(rate(b_total[5m]))", ["a_total[5m]", "b_total[5m]"]),
        ('increase(x_total{a="("}[1h])', ['x_total{a="("}[1h]']),
        ("sum(x)", []),
    ],
)
def test_range_arguments(expr: str, arguments: list[str]) -> None:
    """The helper finds each range function's argument, nested parentheses included."""
    assert range_arguments(expr) == arguments


def test_rate_and_increase_read_only_monotonic_counters(boards: dict[str, dict[str, Any]]) -> None:
    """Every rate()/increase() on every board reads a series that only goes up: a `_total`
    counter (or a worker histogram), never a gauge or the revisable time-to-replan histogram."""
    checked = 0
    for board in boards.values():
        for target in targets(board):
            for argument in range_arguments(substitute(target.expr)):
                for name in metric_names(argument):
                    assert monotonic(name), f"{board['uid']} / {target.panel}: rate of {name}"
                    checked += 1
    assert checked >= 10


def test_excess_and_obsolete_is_read_without_a_window(boards: dict[str, dict[str, Any]]) -> None:
    """E&O is one point-in-time figure per location: no query filters it by window."""
    seen = 0
    for board in boards.values():
        for target in targets(board):
            for selector in re.findall(r"inventory_excess_obsolete_\w+(\{[^}]*\})?", target.expr):
                assert "window" not in selector, f"{board['uid']} / {target.panel}"
                seen += 1
    assert seen >= 2


def test_oncall_board_shows_disruptions_awaiting_a_replan(
    boards: dict[str, dict[str, Any]],
) -> None:
    """The on-call board counts the disruptions awaiting a replan and shows the oldest's age."""
    names = set().union(*(metric_names(t.expr) for t in targets(boards["oncall.json"])))
    assert {
        "inventory_disruptions_awaiting_replan",
        "inventory_disruption_oldest_unreplanned_age_seconds",
    } <= names
