"""The alert state machine: plain data in, new states and transitions out.

Pure and deterministic: `now` is event time, so replaying a log gives the same
transitions at the same moments. Per condition (state key):

    inactive ──fire──▶ pending ──held for_seconds, cooldown over──▶ firing
    firing ──clear──▶ resolved (kept until its cooldown ends, then dropped)

- Hysteresis: an observation is `firing` past the fire threshold and `cleared`
  past the clear threshold; in between a firing alert stays firing.
- De-duplication: a firing condition observed again yields no transition, so
  one condition pages once and resolves once.
- Escalation: a firing alert whose severity rises is resolved under its old
  labels and fired under the new ones; severity never drops while firing.
- Absence: a firing condition of an evaluated partition that is not observed
  any more resolves (its SKU-location, KPI or disruption is gone), except for
  event-based rules, which resolve `resolve_after_seconds` after the last event.
  A state whose rule was removed from the configuration resolves.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace

from alerts.model import SEVERITY_RANK, AlertState, Observation, Transition
from alerts.rules import Rule, RuleSet


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The outcome of one evaluation."""

    states: dict[str, AlertState]  # every state afterwards, by key
    changes: dict[str, AlertState | None]  # the keys that changed (None: removed)
    transitions: list[Transition]


Step = tuple[AlertState | None, list[Transition]]


def _resolve(state: AlertState, rule: Rule | None, now: float, ends_at: float | None) -> Step:
    ends = max(state.active_since, ends_at if ends_at is not None else now)
    transition = Transition.build(state, "resolved", at=now, ends_at=ends)
    cooldown = rule.cooldown_seconds if rule is not None else 0.0
    if cooldown <= 0:
        return None, [transition]
    rested = replace(
        state,
        status="resolved",
        resolved_at=ends,
        cooldown_until=ends + cooldown,
        last_observed_at=now,
    )
    return rested, [transition]


def _idle(state: AlertState, now: float) -> AlertState | None:
    """A state whose condition does not hold: keep only a running cooldown."""
    if state.cooldown_until is not None and now < state.cooldown_until:
        return state if state.status == "resolved" else replace(state, status="resolved")
    return None


def _absent(state: AlertState, rule: Rule | None, now: float) -> Step:
    if state.status != "firing":
        return _idle(state, now), []
    if rule is None:
        return _resolve(state, None, now, None)
    if rule.event_based:
        hold = float(getattr(rule, "resolve_after_seconds", 0.0))
        if now - state.last_observed_at >= hold:
            return _resolve(state, rule, now, None)
        return state, []
    return _resolve(state, rule, now, None)


def _keep_firing(state: AlertState, obs: Observation, rule: Rule, now: float) -> Step:
    raised_rank = SEVERITY_RANK.get(obs.severity, 0) > SEVERITY_RANK.get(state.severity, 0)
    if obs.firing and raised_rank:
        old = Transition.build(state, "resolved", at=now, ends_at=max(now, state.active_since))
        raised = replace(
            state,
            labels=obs.labels(),
            annotations=dict(obs.annotations or {}),
            fired_at=now,
            last_observed_at=now,
            value=obs.value,
        )
        return raised, [old, Transition.build(raised, "firing", at=now)]
    if rule.event_based:
        return replace(state, last_observed_at=now, value=obs.value), []
    return state, []


def _start(prev: AlertState | None, obs: Observation, rule: Rule, now: float) -> Step:
    if prev is not None and prev.status == "pending":
        since = prev.active_since
    else:
        since = obs.since if obs.since is not None else now
    if prev is not None and prev.resolved_at is not None:
        since = max(since, prev.resolved_at)
    since = min(since, now)
    cooldown_until = prev.cooldown_until if prev is not None else None
    cooled = cooldown_until is None or now >= cooldown_until
    if cooled and now - since >= rule.for_seconds:
        state = AlertState(
            key=obs.key,
            rule_id=obs.rule_id,
            status="firing",
            partition=obs.partition,
            labels=obs.labels(),
            annotations=dict(obs.annotations or {}),
            active_since=since,
            last_observed_at=now,
            fired_at=now,
            value=obs.value,
        )
        return state, [Transition.build(state, "firing", at=now)]
    if prev is not None and prev.status == "pending":
        return prev, []
    pending = AlertState(
        key=obs.key,
        rule_id=obs.rule_id,
        status="pending",
        partition=obs.partition,
        labels=obs.labels(),
        annotations=dict(obs.annotations or {}),
        active_since=since,
        last_observed_at=now,
        resolved_at=prev.resolved_at if prev is not None else None,
        cooldown_until=cooldown_until,
        value=obs.value,
    )
    return pending, []


def _observed(prev: AlertState | None, obs: Observation, rule: Rule, now: float) -> Step:
    if prev is not None and prev.status == "firing":
        if obs.cleared:
            return _resolve(prev, rule, now, obs.ended_at)
        return _keep_firing(prev, obs, rule, now)
    if obs.firing:
        return _start(prev, obs, rule, now)
    return (_idle(prev, now) if prev is not None else None), []


def evaluate(
    rules: RuleSet,
    observations: Iterable[Observation],
    previous: Mapping[str, AlertState],
    now: float,
    *,
    partitions: Collection[str] | None = None,
) -> Evaluation:
    """Advance every alert state to event time `now`.

    `observations` are this evaluation's readings (see `alerts.conditions`).
    `partitions` names the locations they cover (`""` for network-wide rules
    such as disruptions); states of other partitions are left as they are.
    None means the observations cover everything.
    """
    by_id = rules.by_id()
    observed: dict[str, Observation] = {}
    for reading in observations:
        if reading.rule_id in by_id:
            observed[reading.key] = reading
    changes: dict[str, AlertState | None] = {}
    transitions: list[Transition] = []
    for key in sorted(set(previous) | set(observed)):
        prev = previous.get(key)
        obs = observed.get(key)
        if obs is not None:
            new, moved = _observed(prev, obs, by_id[obs.rule_id], now)
        else:
            assert prev is not None
            rule = by_id.get(prev.rule_id)
            if rule is not None and partitions is not None and prev.partition not in partitions:
                continue
            new, moved = _absent(prev, rule, now)
        transitions.extend(moved)
        if new != prev:
            changes[key] = new
    states = dict(previous)
    for key, state in changes.items():
        if state is None:
            states.pop(key, None)
        else:
            states[key] = state
    return Evaluation(states=states, changes=changes, transitions=transitions)
