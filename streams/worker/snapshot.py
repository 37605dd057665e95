"""The KPI snapshot the worker writes to Redis and the exporter serves (pure encoding)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from streams.core.samples import Sample


@dataclass(frozen=True)
class Snapshot:
    generated_at: float
    samples: list[Sample]
    events: int = 0


def encode_snapshot(generated_at: float, samples: Iterable[Sample], events: int = 0) -> bytes:
    """`events` is how many distinct events the samples reflect (lets tests wait for them)."""
    return orjson.dumps(
        {
            "generated_at": generated_at,
            "events": events,
            "samples": [[s.name, [list(pair) for pair in s.labels], s.value] for s in samples],
        }
    )


def decode_snapshot(payload: bytes) -> Snapshot:
    data: dict[str, Any] = orjson.loads(payload)
    samples = [
        Sample(name, tuple((str(k), str(v)) for k, v in labels), float(value))
        for name, labels, value in data["samples"]
    ]
    return Snapshot(float(data["generated_at"]), samples, int(data.get("events", 0)))
