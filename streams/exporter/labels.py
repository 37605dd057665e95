"""Bounded, sanitised label values (pure).

Label values come from event data, so a flood of new location codes or SKUs
must not create unbounded series: values are sanitised and, per label name,
only the first `cap` distinct values (in sorted order) are kept; series that
carry other values are dropped and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_UNSAFE = re.compile(r"[^A-Za-z0-9_.:\-]")
MAX_VALUE_LENGTH = 64
CAPPED_LABELS = ("location", "sku", "region", "channel", "customer_tier", "period")


def sanitise(value: str) -> str:
    """Replace characters outside `[A-Za-z0-9_.:-]` with `_` and cut to 64 characters."""
    cleaned = _UNSAFE.sub("_", value)[:MAX_VALUE_LENGTH]
    return cleaned or "_"


def allowed_values(
    label_sets: Iterable[tuple[tuple[str, str], ...]], cap: int, caps: dict[str, int] | None = None
) -> dict[str, set[str]]:
    """Per capped label name, the sanitised values that may be exported."""
    seen: dict[str, set[str]] = {name: set() for name in CAPPED_LABELS}
    for labels in label_sets:
        for name, value in labels:
            if name in seen:
                seen[name].add(sanitise(value))
    return cap_values(seen, cap, caps)


def cap_values(
    seen: dict[str, set[str]], cap: int, caps: dict[str, int] | None = None
) -> dict[str, set[str]]:
    """Per label name, the first `cap` (or `caps[name]`) of its sanitised values, sorted."""
    limits = caps or {}
    return {name: set(sorted(values)[: limits.get(name, cap)]) for name, values in seen.items()}
