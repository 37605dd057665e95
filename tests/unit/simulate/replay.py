"""Replays of a simulated log as a downstream consumer would see it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

START = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)  # a Friday morning (UTC)


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@dataclass
class InventoryReplay:
    """on_hand per (sku, location) from snapshots and adjustments only (SPEC §4)."""

    on_hand: dict[tuple[str, str], float] = field(default_factory=dict)
    negative: list[dict[str, Any]] = field(default_factory=list)
    snapshot_mismatches: list[dict[str, Any]] = field(default_factory=list)
    hit_zero: set[tuple[str, str]] = field(default_factory=set)
    lines_ordered_at_zero: int = 0


def replay_inventory(events: Iterable[dict[str, Any]]) -> InventoryReplay:
    state = InventoryReplay()
    for event in events:
        kind = event["event_type"]
        if kind == "inventory.snapshot":
            key = (event["sku"], event["location"])
            if key in state.on_hand and state.on_hand[key] != event["on_hand"]:
                state.snapshot_mismatches.append(event)
            state.on_hand[key] = event["on_hand"]
        elif kind == "inventory.adjusted":
            key = (event["sku"], event["location"])
            state.on_hand[key] = state.on_hand.get(key, 0) + event["delta"]
            if state.on_hand[key] < 0:
                state.negative.append(event)
            if state.on_hand[key] == 0:
                state.hit_zero.add(key)
        elif kind == "order.placed":
            for line in event["lines"]:
                if state.on_hand.get((line["sku"], event["location"]), 0) == 0:
                    state.lines_ordered_at_zero += 1
    return state


def of_type(events: Iterable[dict[str, Any]], event_type: str) -> list[dict[str, Any]]:
    return [event for event in events if event["event_type"] == event_type]
