"""Label values: distinct codes stay distinct, and a bounded number of them (pure).

Codes that pass the contract (ASCII letters, digits and `._:/-`, SPEC §3) are
exported unchanged. Anything else (data stored before the rule, or a label value
not from event data) is percent-encoded byte by byte, `%` included, so the
mapping stays injective: `DC/1` and `DC_1` are two series, never one.

Label values come from event data, so a flood of new location codes or SKUs
must not create unbounded series: per label name at most `cap` distinct values
are kept. Which ones is decided by activity, never by sort order (SPEC §5):
locations by the events they recorded, with an allow-list first; other labels
by how many series carry the value. Series with any other value are dropped
and counted.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

from streams.store.snapshot import exported_locations

_CODE = re.compile(r"[A-Za-z0-9_.:/\-]+")
_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:/-")
CAPPED_LABELS = ("location", "sku", "region", "channel", "customer_tier", "period")


def sanitise(value: str) -> str:
    """`value` unchanged when it is a valid code; otherwise percent-encoded (injective).

    Every character outside the code set becomes `%XX` per UTF-8 byte (`%` too);
    the empty string becomes `%`, which no other value maps to.
    """
    if _CODE.fullmatch(value):
        return value
    if not value:
        return "%"
    return "".join(
        char
        if char in _SAFE
        else "".join(f"%{byte:02X}" for byte in char.encode("utf-8", "replace"))
        for char in value
    )


def allowed_values(
    label_sets: Iterable[tuple[tuple[str, str], ...]],
    cap: int,
    caps: Mapping[str, int] | None = None,
    activity: Mapping[str, int] | None = None,
    allowlist: Iterable[str] = (),
) -> dict[str, set[str]]:
    """Per capped label name, the sanitised values that may be exported.

    `activity` is events per (raw) location code; `allowlist` raw location codes.
    """
    seen: dict[str, Counter[str]] = {name: Counter() for name in CAPPED_LABELS}
    for labels in label_sets:
        for name, value in labels:
            if name in seen:
                seen[name][sanitise(value)] += 1
    clean_activity = {sanitise(code): n for code, n in (activity or {}).items()}
    return cap_values(seen, cap, caps, clean_activity, [sanitise(c) for c in allowlist])


def cap_values(
    seen: Mapping[str, Counter[str]],
    cap: int,
    caps: Mapping[str, int] | None = None,
    activity: Mapping[str, int] | None = None,
    allowlist: Iterable[str] = (),
) -> dict[str, set[str]]:
    """Per label name, at most `cap` (or `caps[name]`) of its sanitised values.

    `seen` counts the series carrying each value. Locations are ranked by
    `activity` (missing: 0), after the allow-listed ones; other labels by their
    series count. Ties go to the smaller value, so the choice is deterministic.
    """
    limits = caps or {}
    allowed: dict[str, set[str]] = {}
    for name, counts in seen.items():
        limit = limits.get(name, cap)
        if len(counts) <= limit:
            allowed[name] = set(counts)
        elif name == "location":
            ranks = {code: (activity or {}).get(code, 0) for code in counts}
            allowed[name] = set(exported_locations(ranks, limit, allowlist))
        else:
            ranked = sorted(counts, key=lambda value: (-counts[value], value))
            allowed[name] = set(ranked[:limit])
    return allowed
