"""Checkpoint blobs of the engine's state: one per location, one for the global part.

A blob is a zlib-compressed (level 1: about 3x smaller for a quarter more time
than the pickling) pickle (protocol 5) of `(FORMAT, kind, shape, payload)`:

- `FORMAT` is this module's format number: a blob of another format is refused
  (the caller rebuilds from its event log instead);
- `kind` is `"location"` or `"global"`;
- `shape` is what makes state of one setting unusable under another: the bucket
  length and the span of buckets kept (`kept_span`). A blob of another bucket
  length, or that kept a longer span, is refused too. One that kept a shorter span
  (taken before the prior windows of SPEC §4.3 doubled it) is used: its location's
  `history_from` marks where its buckets become complete, and prior windows reaching
  before it stay absent until time fills them;
- the payload is a settled `LocationState` (its SKU-locations, orders, per-bucket
  totals, raw events of its open buckets, counters and late counts) or a
  `GlobalState`.

Blobs live in the monitor's own Redis and are only ever read back by it, so
pickle is fine; numbers are in typed arrays or plain floats, and derived
structures (the open walks, cached order outcomes) are left out and rebuilt on
the next read.
"""

from __future__ import annotations

import pickle
import zlib
from dataclasses import dataclass
from typing import Any

from streams.core.context import kept_span
from streams.core.location import LocationState
from streams.core.planning import DisruptionBook
from streams.core.uncertainty import LeadTimeBook
from streams.settings import KpiSettings

FORMAT = 1
_PROTOCOL = 5
_LEVEL = 1  # zlib: about 3x smaller for a quarter more time than the pickling


class CheckpointError(ValueError):
    """A blob this engine cannot use (another format or another bucket shape)."""


@dataclass
class GlobalState:
    """What all locations share: disruptions, supplier lead times, late counts of events
    without a location."""

    disruptions: DisruptionBook
    suppliers: LeadTimeBook[str]
    supplier_locations: dict[str, set[str]]
    late: dict[str, int]


def shape(settings: KpiSettings) -> tuple[int, float]:
    """`(bucket_seconds, span kept in seconds)` of the state these settings build."""
    return settings.bucket_seconds, kept_span(settings)


def _dump(settings: KpiSettings, kind: str, payload: Any) -> bytes:
    raw = pickle.dumps((FORMAT, kind, shape(settings), payload), protocol=_PROTOCOL)
    return zlib.compress(raw, _LEVEL)


def _load(settings: KpiSettings, kind: str, blob: bytes) -> tuple[Any, float]:
    """`(payload, span the blob kept)`."""
    try:
        found = pickle.loads(zlib.decompress(blob))  # our own blobs, from our own store
        version, found_kind, found_shape, payload = found
    except Exception as error:  # a truncated or foreign blob
        raise CheckpointError(f"unreadable {kind} checkpoint: {error!r}") from error
    if version != FORMAT:
        raise CheckpointError(f"{kind} checkpoint of format {version}, expected {FORMAT}")
    if found_kind != kind:
        raise CheckpointError(f"a {found_kind} checkpoint where a {kind} one was expected")
    size, span = shape(settings)
    if found_shape[0] != size or found_shape[1] > span:
        raise CheckpointError(
            f"{kind} checkpoint taken with (bucket_seconds, span) {tuple(found_shape)}, "
            f"these settings make {(size, span)}"
        )
    return payload, float(found_shape[1])


def dump_location(settings: KpiSettings, state: LocationState) -> bytes:
    """A settled location as a blob."""
    return _dump(settings, "location", state)


def load_location(settings: KpiSettings, blob: bytes) -> LocationState:
    state, kept = _load(settings, "location", blob)
    if not isinstance(state, LocationState):
        raise CheckpointError("a location checkpoint without a location")
    if kept < kept_span(settings):  # its buckets before this were pruned
        size = float(settings.bucket_seconds)
        state.history_from = max(state.history_from, state.open_from - kept + size)
    return state


def dump_global(settings: KpiSettings, state: GlobalState) -> bytes:
    return _dump(settings, "global", state)


def load_global(settings: KpiSettings, blob: bytes) -> GlobalState:
    state, _kept = _load(settings, "global", blob)
    if not isinstance(state, GlobalState):
        raise CheckpointError("a global checkpoint without the global state")
    return state
