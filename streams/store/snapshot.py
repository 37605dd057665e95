"""The KPI snapshot: written by the worker's KPI side, served by the exporter (one codec).

JSON, `{"generated_at": <unix s>, "events": <n>, "locations": <known>,
"activity": {location: events}, "late": {topic: events},
"samples": [[name, [[label, value], ...], value], ...]}`. `late` counts the events
the engine took as late (SPEC §4.1), since its state began (checkpointed with it).
`generated_at` comes first: the exporter reads the first bytes to tell whether a new snapshot was
written (`streams.exporter.collector.HEAD_BYTES`). `activity` is how many events
each location has recorded: it, and the allow-list, decide which locations fill
the cap on exported label values (SPEC §5), never their sort order. The worker
writes only the locations that fill the cap; `locations` counts all it knows.

Non-finite values are never written: the engine drops them, and `encode_snapshot`
refuses any left (JSON has no inf/NaN; orjson would write `null`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from math import isfinite
from typing import Any

import orjson

from streams.core.samples import Sample


@dataclass(frozen=True)
class Snapshot:
    generated_at: float
    samples: list[Sample]
    events: int = 0
    activity: dict[str, int] = field(default_factory=dict)
    locations: int = 0
    late: dict[str, int] = field(default_factory=dict)


class SnapshotEncoder:
    """The snapshot encoded a part at a time (the KPI process yields to feeds between parts).

    The result is byte for byte `encode_snapshot` of the same samples in the same order.
    """

    def __init__(
        self,
        generated_at: float,
        events: int = 0,
        activity: Mapping[str, int] | None = None,
        locations: int | None = None,
        late: Mapping[str, int] | None = None,
    ) -> None:
        head = orjson.dumps(
            {
                "generated_at": generated_at,
                "events": events,
                "locations": len(activity or {}) if locations is None else locations,
                "activity": dict(activity or {}),
                "late": dict(late or {}),
            }
        )
        self._parts: list[bytes] = [head[:-1] + b',"samples":[']
        self._any = False

    def add(self, samples: Iterable[Sample]) -> None:
        """Append samples; those with a non-finite value are left out."""
        body = orjson.dumps(
            [
                [s.name, [list(pair) for pair in s.labels], s.value]
                for s in samples
                if isfinite(s.value)
            ]
        )[1:-1]
        if body:
            self._parts.append(b"," + body if self._any else body)
            self._any = True

    def finish(self) -> bytes:
        return b"".join([*self._parts, b"]}"])


def encode_snapshot(
    generated_at: float,
    samples: Iterable[Sample],
    events: int = 0,
    activity: Mapping[str, int] | None = None,
    locations: int | None = None,
    late: Mapping[str, int] | None = None,
) -> bytes:
    """`events`: distinct events the samples reflect (lets tests wait for them);
    `activity`: events per exported location; `locations`: every location known
    (default: those in `activity`); `late`: events taken as late, by topic. Samples
    with a non-finite value are left out."""
    encoder = SnapshotEncoder(generated_at, events, activity, locations, late)
    encoder.add(samples)
    return encoder.finish()


def decode_snapshot(payload: bytes) -> Snapshot:
    data: dict[str, Any] = orjson.loads(payload)
    samples = [
        Sample(name, tuple((str(k), str(v)) for k, v in labels), float(value))
        for name, labels, value in data["samples"]
    ]
    activity = {str(k): int(v) for k, v in (data.get("activity") or {}).items()}
    known = int(data.get("locations", len(activity)))
    late = {str(k): int(v) for k, v in (data.get("late") or {}).items()}
    return Snapshot(
        float(data["generated_at"]), samples, int(data.get("events", 0)), activity, known, late
    )


def exported_locations(
    activity: Mapping[str, int], cap: int, allowlist: Iterable[str] = ()
) -> list[str]:
    """The locations whose series are exported, at most `cap` (SPEC §5).

    The allow-listed ones first (those with any activity, in list order), then the
    most active others (events recorded; ties by code). A flood of new codes with
    a few events each cannot push out an established location.
    """
    chosen: list[str] = []
    allowed = set()
    for code in allowlist:
        if code in activity and code not in allowed and len(chosen) < cap:
            chosen.append(code)
            allowed.add(code)
    others = sorted((c for c in activity if c not in allowed), key=lambda c: (-activity[c], c))
    return chosen + others[: max(0, cap - len(chosen))]
