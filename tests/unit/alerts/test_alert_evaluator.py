"""The evaluator turns observation sequences into exactly the expected transitions."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from alerts.evaluator import evaluate
from alerts.model import AlertState, Observation, Transition
from alerts.rules import RuleSet, parse_rules


def _rules(**fields: object) -> RuleSet:
    lines = [
        "rules:",
        "  - alertname: InventoryFillRateLow",
        "    kind: fill_rate",
        "    threshold: 0.95",
    ]
    lines += [f"    {name}: {value}" for name, value in fields.items()]
    return parse_rules("\n".join(lines), "<test>")


RULE_ID = "InventoryFillRateLow.fill_rate.7d"


@dataclass(frozen=True)
class Reading:
    """A compact observation: F fires, B is in the hysteresis band, C is cleared."""

    mode: str  # "F", "B" or "C"
    location: str = "DC1"
    severity: str = "warning"
    since: float | None = None

    def build(self) -> Observation:
        return Observation(
            rule_id=RULE_ID,
            alertname="InventoryFillRateLow",
            identity={"location": self.location, "window": "7d"},
            severity=self.severity,
            firing=self.mode == "F",
            cleared=self.mode == "C",
            partition=self.location,
            annotations={"summary": f"fill rate low at {self.location}"},
            since=self.since,
        )


Row = tuple[float, str, str, float, float | None]  # at, status, severity, starts_at, ends_at


def _run(rules: RuleSet, steps: list[tuple[float, list[Reading]]]) -> list[Row]:
    states: dict[str, AlertState] = {}
    rows: list[Row] = []
    for now, readings in steps:
        result = evaluate(rules, [r.build() for r in readings], states, now)
        states = result.states
        rows += [(t.at, t.status, t.severity, t.starts_at, t.ends_at) for t in result.transitions]
    return rows


F, B, C = Reading("F"), Reading("B"), Reading("C")

SCENARIOS: list[tuple[str, dict[str, object], list[tuple[float, list[Reading]]], list[Row]]] = [
    (
        "fires once, de-duplicates, resolves once",
        {},
        [(0, [F]), (10, [F]), (20, [F]), (30, [C]), (40, [C]), (50, [])],
        [(0, "firing", "warning", 0, None), (30, "resolved", "warning", 0, 30)],
    ),
    (
        "pending until the minimum duration has passed",
        {"for_seconds": 600},
        [(0, [F]), (300, [F]), (599, [F]), (600, [F]), (700, [F])],
        [(600, "firing", "warning", 0, None)],
    ),
    (
        "an interrupted pending period starts again",
        {"for_seconds": 600},
        [(0, [F]), (300, [C]), (400, [F]), (900, [F]), (1000, [F])],
        [(1000, "firing", "warning", 400, None)],
    ),
    (
        "a dip into the hysteresis band while pending resets the pending period",
        {"for_seconds": 600},
        [(0, [F]), (300, [B]), (400, [F]), (1000, [F])],
        [(1000, "firing", "warning", 400, None)],
    ),
    (
        "hysteresis band keeps a firing alert firing",
        {},
        [(0, [F]), (10, [B]), (20, [B]), (30, [F]), (40, [C])],
        [(0, "firing", "warning", 0, None), (40, "resolved", "warning", 0, 40)],
    ),
    (
        "the band alone never fires",
        {},
        [(0, [B]), (10, [B]), (20, [C])],
        [],
    ),
    (
        "cooldown holds a re-fire back until it is over",
        {"cooldown_seconds": 1000},
        [(0, [F]), (100, [C]), (200, [F]), (500, [F]), (1100, [F]), (1200, [F])],
        [
            (0, "firing", "warning", 0, None),
            (100, "resolved", "warning", 0, 100),
            (1100, "firing", "warning", 200, None),
        ],
    ),
    (
        "a condition gone during cooldown leaves nothing behind",
        {"cooldown_seconds": 100},
        [(0, [F]), (10, [C]), (50, [C]), (200, [F])],
        [
            (0, "firing", "warning", 0, None),
            (10, "resolved", "warning", 0, 10),
            (200, "firing", "warning", 200, None),
        ],
    ),
    (
        "severity rises: old labels resolve, new labels fire; it never drops",
        {},
        [
            (0, [F]),
            (10, [Reading("F", severity="critical")]),
            (20, [F]),
            (30, [Reading("F", severity="critical")]),
            (40, [C]),
        ],
        [
            (0, "firing", "warning", 0, None),
            (10, "resolved", "warning", 0, 10),
            (10, "firing", "critical", 0, None),
            (40, "resolved", "critical", 0, 40),
        ],
    ),
    (
        "a known start time counts toward the minimum duration",
        {"for_seconds": 300},
        [(1000, [Reading("F", since=500)])],
        [(1000, "firing", "warning", 500, None)],
    ),
    (
        "a start time in the future is clamped to now",
        {},
        [(1000, [Reading("F", since=1100)])],
        [(1000, "firing", "warning", 1000, None)],
    ),
    (
        "an unobserved firing condition resolves",
        {},
        [(0, [F]), (10, [])],
        [(0, "firing", "warning", 0, None), (10, "resolved", "warning", 0, 10)],
    ),
    (
        "two locations are two alerts",
        {},
        [(0, [F, Reading("F", location="DC2")]), (10, [Reading("F", location="DC2")])],
        [
            (0, "firing", "warning", 0, None),
            (0, "firing", "warning", 0, None),
            (10, "resolved", "warning", 0, 10),
        ],
    ),
]


@pytest.mark.parametrize(
    ("fields", "steps", "expected"),
    [pytest.param(f, s, e, id=name) for name, f, s, e in SCENARIOS],
)
def test_scenario(
    fields: dict[str, object], steps: list[tuple[float, list[Reading]]], expected: list[Row]
) -> None:
    """Each scenario yields exactly the listed transitions, in order."""
    assert _run(_rules(**fields), steps) == expected


def _fire(rules: RuleSet, now: float = 0.0) -> tuple[dict[str, AlertState], Transition]:
    result = evaluate(rules, [F.build()], {}, now)
    return result.states, result.transitions[0]


def test_absence_outside_the_evaluated_partitions_changes_nothing() -> None:
    """A firing alert of a location not covered by this evaluation stays firing."""
    rules = _rules()
    states, _ = _fire(rules)
    result = evaluate(rules, [], states, 100, partitions={"DC2"})
    assert result.transitions == [] and result.changes == {}
    assert result.states == states


def test_absence_inside_the_evaluated_partitions_resolves() -> None:
    """A firing alert of an evaluated location that is not observed resolves."""
    rules = _rules()
    states, _ = _fire(rules)
    result = evaluate(rules, [], states, 100, partitions={"DC1"})
    assert [t.status for t in result.transitions] == ["resolved"]
    assert result.states == {}


def test_removed_rule_resolves_its_alerts() -> None:
    """Alerts of a rule no longer configured resolve on the next evaluation."""
    states, _ = _fire(_rules())
    other = parse_rules(
        "rules: [{alertname: InventoryOtifLow, kind: otif, threshold: 0.9}]", "<test>"
    )
    result = evaluate(other, [], states, 50, partitions={"elsewhere"})
    assert [(t.status, t.ends_at) for t in result.transitions] == [("resolved", 50)]


def test_event_based_rule_resolves_after_its_hold() -> None:
    """A single-expedite alert stays firing without new events until resolve_after_seconds."""
    rules = parse_rules(
        "rules: [{alertname: InventoryExpediteCost, kind: expedite_single, threshold: 100,"
        " resolve_after_seconds: 600}]",
        "<test>",
    )
    obs = Observation(
        rule_id="InventoryExpediteCost.expedite_single",
        alertname="InventoryExpediteCost",
        identity={"location": "DC1", "shipment_id": "S1"},
        severity="warning",
        firing=True,
        cleared=False,
        partition="DC1",
        since=0.0,
    )
    first = evaluate(rules, [obs], {}, 0)
    held = evaluate(rules, [], first.states, 599)
    done = evaluate(rules, [], held.states, 600)
    assert [t.status for t in first.transitions] == ["firing"]
    assert held.transitions == []
    assert [(t.status, t.ends_at) for t in done.transitions] == [("resolved", 600)]


def test_transitions_carry_fingerprint_labels_and_annotations() -> None:
    """A firing transition names the alert by labels, fingerprint and a deterministic id."""
    rules = _rules()
    _, transition = _fire(rules, now=5.0)
    assert transition.labels == {
        "alertname": "InventoryFillRateLow",
        "severity": "warning",
        "location": "DC1",
        "window": "7d",
    }
    assert transition.annotations["summary"] == "fill rate low at DC1"
    assert len(transition.fingerprint) == 16
    _, again = _fire(rules, now=5.0)
    assert again == transition


def test_fingerprint_ignores_label_order_and_changes_with_severity() -> None:
    """The fingerprint hashes the sorted labels, so severity changes it and order does not."""
    from alerts.model import fingerprint

    a = fingerprint({"alertname": "X", "location": "DC1", "severity": "warning"})
    b = fingerprint({"severity": "warning", "location": "DC1", "alertname": "X"})
    c = fingerprint({"alertname": "X", "location": "DC1", "severity": "critical"})
    assert a == b != c


def test_changes_list_only_what_moved() -> None:
    """`changes` holds new or removed states only, so a commit writes the minimum."""
    rules = _rules(cooldown_seconds=100)
    states, _ = _fire(rules)
    key = next(iter(states))
    same = evaluate(rules, [F.build()], states, 10)
    assert same.changes == {}
    resolved = evaluate(rules, [C.build()], states, 20)
    rested = resolved.changes[key]
    assert rested is not None and rested.status == "resolved"
    expired = evaluate(rules, [], resolved.states, 200)
    assert expired.changes == {key: None}
