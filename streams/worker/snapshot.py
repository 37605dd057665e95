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


def encode_snapshot(generated_at: float, samples: Iterable[Sample]) -> bytes:
    return orjson.dumps(
        {
            "generated_at": generated_at,
            "samples": [[s.name, [list(pair) for pair in s.labels], s.value] for s in samples],
        }
    )


def decode_snapshot(payload: bytes) -> Snapshot:
    data: dict[str, Any] = orjson.loads(payload)
    samples = [
        Sample(name, tuple((str(k), str(v)) for k, v in labels), float(value))
        for name, labels, value in data["samples"]
    ]
    return Snapshot(float(data["generated_at"]), samples)
