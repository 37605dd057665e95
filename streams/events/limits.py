"""Sanity bounds on accepted events (SPEC §3), checked after the contract (pure).

The contract (`models.py`) bounds every number at 1e12 and refuses negatives
where the spec does; these bounds are tighter and configurable
(`KPIMON_EVENTS__*`), because a value can be valid JSON and within the contract
yet break the arithmetic downstream: a subnormal quantity makes a forecast's
absolute percentage error infinite, a huge one overflows a sum of squares. And
an `occurred_at` far ahead of the worker's clock would drag its location's
watermark into the future, blanking every window of that location.

Both decoders (the msgspec fast path and the pydantic contract) call
`sanity_rejection` on what they accepted, so their verdicts stay equal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import msgspec

from streams.events import wire
from streams.events.rejection import Rejection

AMOUNT_FIELDS = frozenset({"unit_price", "unit_cost", "expedite_cost"})
"""Dollar amounts, bounded by `max_amount`; every other number is a quantity (units, days)."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds of an accepted event; the defaults are the settings' defaults.

    `max_quantity` bounds the magnitude of every number that is not an amount
    (units, stock, deltas, forecasts, policy levels, delay days); `max_amount`
    bounds prices and costs ($); a non-zero number under `min_magnitude` in
    magnitude is refused (subnormals, dust). `max_clock_skew_seconds` is how far
    `occurred_at` may be ahead of the clock reading given to the decoder.
    """

    max_bytes: int = 1_000_000
    max_quantity: float = 1e9
    max_amount: float = 1e9
    min_magnitude: float = 1e-6
    max_clock_skew_seconds: float = 900.0

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """From a `streams.settings.Settings` (typed Any: events do not import settings)."""
        events = settings.events
        return cls(
            max_bytes=settings.kafka.max_message_bytes,
            max_quantity=events.max_quantity,
            max_amount=events.max_amount,
            min_magnitude=events.min_magnitude,
            max_clock_skew_seconds=events.max_clock_skew_seconds,
        )


DEFAULT_LIMITS = Limits()

Numbers = tuple[tuple[str, bool], ...]
"""(field name, is an amount) of a struct's float fields, in field order."""


def _float_fields(info: msgspec.inspect.StructType) -> Numbers:
    found = []
    for field in info.fields:
        kind = field.type
        kinds = kind.types if isinstance(kind, msgspec.inspect.UnionType) else (kind,)
        if any(isinstance(k, msgspec.inspect.FloatType) for k in kinds):
            found.append((field.name, field.name in AMOUNT_FIELDS))
    return tuple(found)


def _nested_fields(info: msgspec.inspect.StructType) -> tuple[tuple[str, bool, Numbers], ...]:
    """(field name, is a list, float fields of its items) of the fields holding structs."""
    found = []
    for field in info.fields:
        kind = field.type
        if isinstance(kind, msgspec.inspect.ListType) and isinstance(
            kind.item_type, msgspec.inspect.StructType
        ):
            found.append((field.name, True, _float_fields(kind.item_type)))
        elif isinstance(kind, msgspec.inspect.StructType):
            found.append((field.name, False, _float_fields(kind)))
    return tuple(found)


def _info(cls: type) -> msgspec.inspect.StructType:
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    return info


# Per event type; the pydantic models and the msgspec structs share field names.
_NUMBERS: dict[str, Numbers] = {
    name: _float_fields(_info(cls)) for name, cls in wire.STRUCTS.items()
}
_NESTED: dict[str, tuple[tuple[str, bool, Numbers], ...]] = {
    name: _nested_fields(_info(cls)) for name, cls in wire.STRUCTS.items()
}


def _within(path: str, numbers: Numbers) -> list[str]:
    # Optional numbers are None when absent; 0 is always fine (only non-zero dust is not).
    return [
        f"({path}.{name} is None or not {path}.{name} or lo <= abs({path}.{name}) <= "
        f"{'amount' if amount else 'quantity'})"
        for name, amount in numbers
    ]


def _in_bounds_check(event_type: str) -> Callable[[Any, float, float, float], bool]:
    """One compiled expression per type: are all its numbers within the bounds?

    Generated from the contract (a per-field loop in Python cost as much as the
    decode); the slow `_first_out_of_bounds` says which field, when one is not.
    """
    terms = _within("e", _NUMBERS[event_type])
    for name, is_list, numbers in _NESTED[event_type]:
        inner = _within("i", numbers)
        if not inner:
            continue
        if is_list:
            terms.append(f"all([{' and '.join(inner)} for i in e.{name}])")
        else:
            terms.extend(_within(f"e.{name}", numbers))
    body = " and ".join(terms) if terms else "True"
    source = f"lambda e, lo, quantity, amount: {body}"
    return cast(
        Callable[[Any, float, float, float], bool],
        eval(source, {"abs": abs, "all": all}),
    )


_IN_BOUNDS = {name: _in_bounds_check(name) for name in wire.STRUCTS}


def _out_of_bounds(
    path: str, name: str, value: float, amount: bool, limits: Limits
) -> Rejection | None:
    magnitude = abs(value)
    top = limits.max_amount if amount else limits.max_quantity
    if magnitude > top:
        setting = "MAX_AMOUNT" if amount else "MAX_QUANTITY"
        return Rejection(
            "out_of_bounds", f"{path}{name}: {value!r} is over {top:g} (KPIMON_EVENTS__{setting})"
        )
    if magnitude and magnitude < limits.min_magnitude:
        return Rejection(
            "out_of_bounds",
            f"{path}{name}: {value!r} is non-zero but under {limits.min_magnitude:g} "
            "(KPIMON_EVENTS__MIN_MAGNITUDE)",
        )
    return None


def _check(obj: Any, numbers: Numbers, path: str, limits: Limits) -> Rejection | None:
    for name, amount in numbers:
        value = getattr(obj, name)
        if value is not None:
            rejection = _out_of_bounds(path, name, value, amount, limits)
            if rejection is not None:
                return rejection
    return None


def _first_out_of_bounds(event: Any, limits: Limits) -> Rejection | None:
    """The first number of `event` out of bounds, in field order (nested fields last)."""
    event_type = event.event_type
    rejection = _check(event, _NUMBERS[event_type], "", limits)
    if rejection is not None:
        return rejection
    for name, is_list, numbers in _NESTED[event_type]:
        inner = getattr(event, name)
        items = enumerate(inner) if is_list else [(None, inner)]
        for index, item in items:
            path = f"{name}." if index is None else f"{name}.{index}."
            rejection = _check(item, numbers, path, limits)
            if rejection is not None:
                return rejection
    return None


def latest_allowed(limits: Limits, now: float) -> datetime:
    """The latest `occurred_at` accepted at clock reading `now` (epoch seconds)."""
    return datetime.fromtimestamp(now + limits.max_clock_skew_seconds, UTC)


def sanity_rejection(event: Any, limits: Limits, not_after: datetime | None) -> Rejection | None:
    """The first bound `event` breaks (numbers in field order, then the clock), or None.

    `not_after` is `latest_allowed(limits, now)`, computed once per batch; None
    skips the clock check (events read back from the store were checked on arrival).
    """
    if not _IN_BOUNDS[event.event_type](
        event, limits.min_magnitude, limits.max_quantity, limits.max_amount
    ):
        return _first_out_of_bounds(event, limits)
    if not_after is not None and event.occurred_at > not_after:
        ahead = event.occurred_at.timestamp() - not_after.timestamp()
        skew = limits.max_clock_skew_seconds
        return Rejection(
            "clock_skew",
            f"occurred_at: {ahead + skew:.0f} s ahead of the worker's clock (more than "
            f"{skew:g} s, KPIMON_EVENTS__MAX_CLOCK_SKEW_SECONDS)",
        )
    return None
