"""Alert states and transitions: the plain data the evaluator, store and notifiers share.

Times are event-time epoch seconds (floats). Two hashes identify an alert:

- `key` — the *condition*: rule id + identity labels (e.g. location, sku). Alert
  state is stored under it, so a condition pages once and resolves once.
- `fingerprint` — what receivers see: alertname + every label sent (severity
  included), the same identity Alertmanager uses. Raising the severity of a
  firing alert resolves the old fingerprint and fires a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

Status = Literal["pending", "firing", "resolved"]
TransitionStatus = Literal["firing", "resolved"]

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}


def _digest(parts: Mapping[str, str]) -> str:
    text = "\x1f".join(f"{name}\x1e{value}" for name, value in sorted(parts.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def fingerprint(labels: Mapping[str, str]) -> str:
    """Stable hash of the full label set (which includes `alertname`)."""
    return _digest(labels)


def condition_key(rule_id: str, identity: Mapping[str, str]) -> str:
    """Stable hash of a rule and the labels that identify one condition of it."""
    return _digest({**identity, "\x00rule": rule_id})


def isoformat(epoch: float) -> str:
    """RFC 3339 UTC with milliseconds, e.g. `2024-05-01T10:00:00.000Z`."""
    stamp = datetime.fromtimestamp(epoch, tz=UTC)
    return stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class AlertState:
    """What the monitor remembers about one condition between evaluations."""

    key: str
    rule_id: str
    status: Status
    partition: str  # the location the condition belongs to ("" = network-wide)
    labels: dict[str, str]  # full label set, `alertname` and `severity` included
    annotations: dict[str, str]
    active_since: float  # when the fire condition began (pending start / startsAt)
    last_observed_at: float
    fired_at: float | None = None
    resolved_at: float | None = None
    cooldown_until: float | None = None  # no new page for this condition before then
    value: float | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.labels)

    @property
    def alertname(self) -> str:
        return self.labels["alertname"]

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> AlertState:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Transition:
    """One alert changing state: it starts firing or it resolves."""

    id: str  # unique and deterministic: receivers de-duplicate redeliveries on it
    key: str
    fingerprint: str
    status: TransitionStatus
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: float
    ends_at: float | None  # set when resolved
    at: float  # event time of the evaluation that produced it
    value: float | None = None

    @classmethod
    def build(
        cls,
        state: AlertState,
        status: TransitionStatus,
        at: float,
        ends_at: float | None = None,
    ) -> Transition:
        labels = dict(state.labels)
        fp = fingerprint(labels)
        ident = hashlib.sha256(f"{fp}|{status}|{state.active_since!r}".encode()).hexdigest()[:24]
        return cls(
            id=ident,
            key=state.key,
            fingerprint=fp,
            status=status,
            labels=labels,
            annotations=dict(state.annotations),
            starts_at=state.active_since,
            ends_at=ends_at,
            at=at,
            value=state.value,
        )

    @property
    def alertname(self) -> str:
        return self.labels["alertname"]

    @property
    def severity(self) -> str:
        return self.labels.get("severity", "")

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape every channel publishes (times as RFC 3339 strings)."""
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "status": self.status,
            "alertname": self.alertname,
            "severity": self.severity,
            "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "starts_at": isoformat(self.starts_at),
            "ends_at": isoformat(self.ends_at) if self.ends_at is not None else None,
            "at": isoformat(self.at),
            "value": self.value,
        }

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Transition:
        data: dict[str, Any] = json.loads(text)
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Observation:
    """One rule's reading of one condition at one evaluation (plain data in).

    `firing` — the fire threshold is crossed; `cleared` — the clear threshold
    is crossed. Between the two (hysteresis band) an alert keeps its state.
    """

    rule_id: str
    alertname: str
    identity: dict[str, str]  # labels that tell conditions apart (location, sku, ...)
    severity: str
    firing: bool
    cleared: bool
    partition: str = ""  # the location the condition belongs to ("" = network-wide)
    extra_labels: dict[str, str] | None = None  # stable descriptive labels
    annotations: dict[str, str] | None = None
    value: float | None = None
    since: float | None = None  # when the underlying condition began, if known
    ended_at: float | None = None  # when it ended, if known (e.g. disruption resolved)

    @property
    def key(self) -> str:
        return condition_key(self.rule_id, self.identity)

    def labels(self, severity: str | None = None) -> dict[str, str]:
        """The full label set: alertname, severity, identity and extra labels."""
        labels = {**(self.extra_labels or {}), **self.identity}
        labels["alertname"] = self.alertname
        labels["severity"] = severity or self.severity
        return labels
