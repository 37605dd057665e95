"""Every simulated event honours the event contracts of SPEC §3."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import orjson
import pytest

from streams.events.decode import Rejection, decode_event
from streams.events.models import MODELS
from streams.simulate import SimulationConfig, generate

RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00")


def test_every_event_validates_against_the_contract(log: list[dict[str, Any]]) -> None:
    """Each event, serialised as JSON, decodes to its model (never a Rejection)."""
    rejected = [
        (event, decoded)
        for event in log
        if isinstance(decoded := decode_event(orjson.dumps(event)), Rejection)
    ]
    assert rejected == []


def test_disruption_heavy_log_validates_too(long_log: list[dict[str, Any]]) -> None:
    """A week with many disruptions and re-plans also decodes without a rejection."""
    assert not any(isinstance(decode_event(orjson.dumps(e)), Rejection) for e in long_log)


@pytest.mark.parametrize(
    ("seed", "start"),
    [
        (1, datetime(2026, 11, 27, 10, tzinfo=UTC)),
        (2, datetime(2026, 1, 4, 0, tzinfo=UTC)),  # a Sunday night
        (3, datetime(2026, 6, 30, 18, 45, tzinfo=UTC)),
        (4, datetime(2027, 2, 28, 23, 59, tzinfo=UTC)),
    ],
)
def test_all_thirteen_event_types_appear_within_3000_events(seed: int, start: datetime) -> None:
    """A default world produces every event type of the contract in its first 3000 events."""
    seen = {e["event_type"] for e in generate(SimulationConfig(seed, start=start, events=3000))}
    assert seen == set(MODELS)


def test_occurred_at_never_decreases(log: list[dict[str, Any]]) -> None:
    """Events come out in non-decreasing event time."""
    stamps = [datetime.fromisoformat(e["occurred_at"]) for e in log]
    assert all(a <= b for a, b in pairwise(stamps))


def test_event_ids_are_unique(log: list[dict[str, Any]]) -> None:
    """No two events share an event_id."""
    assert len({e["event_id"] for e in log}) == len(log)


INTRODUCES = {
    "order.placed": "order_id",
    "shipment.dispatched": "shipment_id",
    "inbound.received": "po_id",
    "disruption.reported": "disruption_id",
    "policy.recommended": "recommendation_id",
}


def test_entity_ids_are_unique_where_they_name_one_thing(log: list[dict[str, Any]]) -> None:
    """Orders, shipments, POs, disruptions and recommendations are each introduced once."""
    introduced = Counter(
        (e["event_type"], e[INTRODUCES[e["event_type"]]])
        for e in log
        if e["event_type"] in INTRODUCES
    )
    assert set(dict(introduced).keys()) and max(introduced.values()) == 1


def test_timestamps_are_rfc3339_with_offset(log: list[dict[str, Any]]) -> None:
    """Every timestamp field is like 2026-11-27T10:00:00.000000+00:00."""
    fields = ("occurred_at", "promised_at", "ordered_at", "period_start", "period_end")
    for event in log:
        for name in fields:
            if name in event:
                assert RFC3339.fullmatch(event[name]), (name, event)


def test_quantities_are_whole_and_money_is_in_cents(log: list[dict[str, Any]]) -> None:
    """Quantities, deltas and positions are integers; prices and costs have at most 2 decimals."""

    def cents(value: float) -> bool:
        return abs(round(value * 100) - value * 100) < 1e-6

    for event in log:
        for name in ("quantity", "delta", "on_hand", "on_order", "in_transit"):
            if name in event:
                assert float(event[name]).is_integer(), (name, event)
        for line in event.get("lines", ()):
            assert float(line["quantity"]).is_integer()
            assert cents(line.get("unit_price", 0.0))
        for name in ("unit_cost", "expedite_cost"):
            if name in event:
                assert cents(event[name]), (name, event)


def test_orders_have_one_to_five_lines_promised_one_to_five_days_out(
    log: list[dict[str, Any]],
) -> None:
    """Order shapes follow the brief: 1-5 distinct SKUs, promise 1-5 days after placement."""
    orders = [e for e in log if e["event_type"] == "order.placed"]
    assert {len(o["lines"]) for o in orders} == {1, 2, 3, 4, 5}
    for order in orders:
        assert len({line["sku"] for line in order["lines"]}) == len(order["lines"])
        wait = datetime.fromisoformat(order["promised_at"]) - datetime.fromisoformat(
            order["occurred_at"]
        )
        assert timedelta(days=1) <= wait <= timedelta(days=5)


def test_prices_exceed_unit_costs(log: list[dict[str, Any]]) -> None:
    """Every order line's unit price is above the SKU's unit cost (after tier discounts)."""
    cost = {e["sku"]: e["unit_cost"] for e in log if e["event_type"] == "inventory.snapshot"}
    for order in (e for e in log if e["event_type"] == "order.placed"):
        for line in order["lines"]:
            assert line["unit_price"] > cost[line["sku"]]
