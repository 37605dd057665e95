"""Why a message was refused: the verdict every decoder and check returns (plain data)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rejection:
    """`reason` is one of `streams.events.decode.REASONS` (a Prometheus label value, so
    a small fixed set); `detail` names the field and says what is wrong (dead-letter
    headers, logs)."""

    reason: str
    detail: str
