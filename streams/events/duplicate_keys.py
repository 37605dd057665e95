"""Duplicate JSON keys (SPEC §3): refused, since readers disagree on which one counts.

`{"on_hand": 5, "on_hand": -1}` is valid JSON to most parsers, which keep the
last value; another consumer of the same bytes may keep the first. The monitor
refuses such messages (`duplicate_key`) so every reader sees one event.

msgspec (the fast path) keeps the last value silently, so an accepted message
is screened by counting its quotes, one C-level pass: every key and every string
value is two quotes, and an escaped quote inside a string only adds one. From
the decoded event we know its string values and the keys it surely has, so

    keys_in_message = (quotes - 2 * string_values) / 2  ≥  distinct keys  ≥  keys_known

and equality of the two ends proves that no key repeats. Anything else (an
escaped quote, an optional field sent at its default, a repeated key) is left
to `first_duplicate_key`, the exact check, which parses the message again and
keeps every key. The screen costs a fraction of the decode; the exact check
runs only on doubt.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from operator import attrgetter
from typing import Any, cast

import msgspec

from streams.events import wire

_Insp = msgspec.inspect


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _Duplicate(key)
        seen[key] = value
    return seen


def _not_json(literal: str) -> Any:
    raise ValueError(f"{literal} is not JSON")  # NaN, Infinity: invalid_json, the contract's


def first_duplicate_key(raw: bytes) -> str | None:
    """The first key repeated within one JSON object of `raw`, or None.

    None also when `raw` is not JSON at all (the contract decides that).
    """
    try:
        json.loads(raw, object_pairs_hook=_reject_duplicates, parse_constant=_not_json)
    except _Duplicate as duplicate:
        return duplicate.key
    except (ValueError, RecursionError):  # not JSON (incl. invalid UTF-8): not our verdict
        return None
    return None


def _is_string(kind: Any) -> bool:
    """JSON strings: str, timestamps and literals (all literals of the contract are str)."""
    return isinstance(kind, _Insp.StrType | _Insp.DateTimeType | _Insp.LiteralType)


def _quotes(info: _Insp.StructType, path: str) -> str:
    """A Python expression: the quotes an accepted object at `path` surely has.

    A required field is its key (2 quotes) and, when a string, its value (2 more);
    an optional one counts only when it differs from its default (an absent field
    and one sent at its default decode alike; the latter is settled by
    `may_repeat_a_key`). Lists of fixed-shape structs or of strings count per item.
    """
    fixed = 0
    terms: list[str] = []
    for field in info.fields:
        kind = field.type
        inner = kind.types if isinstance(kind, _Insp.UnionType) else (kind,)
        value = f"{path}.{field.name}"
        if field.required:
            fixed += 4 if _is_string(kind) else 2
        else:
            size = 4 if any(_is_string(k) for k in inner) else 2
            terms.append(f"(0 if {value} == {field.default!r} else {size})")
        for item in inner:
            if isinstance(item, _Insp.ListType) and _is_string(item.item_type):
                terms.append(f"2 * len({value})")
            elif isinstance(item, _Insp.ListType) and isinstance(item.item_type, _Insp.StructType):
                each = _quotes(item.item_type, "i")
                if each.isdigit():
                    terms.append(f"{each} * len({value})")
                else:
                    terms.append(f"sum([{each} for i in {value}])")
            elif isinstance(item, _Insp.StructType):
                terms.append(f"({_quotes(item, value)})")
    return " + ".join([str(fixed), *terms]) if terms else str(fixed)


def _counter(cls: type) -> Callable[[Any], int]:
    """The quote count of `cls` as one compiled expression (generated from the contract:
    a per-field loop in Python cost more than the decode it guards)."""
    info = _Insp.type_info(cls)
    assert isinstance(info, _Insp.StructType)
    # + 4: the union tag `event_type` and its string value, not a field of the struct.
    source = f"lambda e: 4 + {_quotes(info, 'e')}"
    return cast(Callable[[Any], int], eval(source, {"len": len, "sum": sum}))


_COUNTERS: dict[type, Callable[[Any], int]] = {cls: _counter(cls) for cls in wire.STRUCTS.values()}
# Per struct type: its optional fields (getter, default, the bytes that start them as a key).
_OPTIONAL: dict[type, tuple[tuple[Callable[[Any], Any], Any, bytes], ...]] = {
    cls: tuple(
        (attrgetter(field.name), field.default, f'"{field.name}":'.encode())
        for field in cast(_Insp.StructType, _Insp.type_info(cls)).fields
        if not field.required
    )
    for cls in wire.STRUCTS.values()
}


def may_repeat_a_key(event: wire.Event, raw: bytes) -> bool:
    """False when `raw`, the message `event` was decoded from, surely repeats no key.

    True means "check exactly" (`first_duplicate_key`), not "has a duplicate".
    Optional fields sent at their default (`"source":null`, `"expedite_cost":0`)
    add two quotes each, recognised by their `"name":` (inside a string a quote is
    escaped, so those bytes start a key); a nested optional field, an escaped quote
    or whitespace before a colon leaves the count off and the exact check decides.
    """
    extra = raw.count(b'"') - _COUNTERS[type(event)](event)
    if extra == 0:
        return False
    for get, default, key in _OPTIONAL[type(event)]:
        if get(event) == default and key in raw:
            extra -= 2
    return extra != 0
