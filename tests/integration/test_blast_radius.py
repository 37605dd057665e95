"""The blast radius of one bad event is that event (SPEC §3, §5), through the real stack.

Black-box: events go in through Kafka, answers come from `/metrics` and Redis, so
each test states what an operator would see. Each one failed before the rule it
proves existed: a tombstone killed the worker on every restart, a subnormal
quantity made `/metrics` fail for every location, one event a year ahead blanked
its location's windows, `DC/1` and `DC_1` were one series, and junk codes that
sort first pushed real locations out of `/metrics`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.fixtures import MonitorFactory
from tests.integration.monitor import Monitor, wait_for

pytestmark = pytest.mark.integration

NOW = time.time()
T0 = NOW - 2 * 86400


def stamp(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def snapshot_event(n: str, location: str, t: float, on_hand: float = 10.0) -> dict[str, Any]:
    return {
        "event_id": f"snap-{n}", "event_type": "inventory.snapshot", "occurred_at": stamp(t),
        "sku": "S1", "location": location, "on_hand": on_hand, "on_order": 0,
        "in_transit": 0, "unit_cost": 2.0,
    }  # fmt: skip


TOPIC = {
    "inventory.snapshot": "inventory",
    "forecast.published": "forecasts",
    "order.placed": "orders",
}


def publish(monitor: Monitor, records: list[tuple[str, bytes | None, bytes | None]]) -> None:
    producer = KafkaProducer(bootstrap_servers=monitor.kafka_bootstrap)
    for topic, key, value in records:
        producer.send(monitor.topic_prefix + topic, key=key, value=value)
    producer.flush(timeout=60)
    producer.close()


def events(*items: dict[str, Any]) -> list[tuple[str, bytes | None, bytes | None]]:
    return [(TOPIC[e["event_type"]], e["location"].encode(), orjson.dumps(e)) for e in items]


def series(monitor: Monitor) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample on /metrics (which must parse)."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(monitor.metrics_text())
        for s in family.samples
    }


def value(monitor: Monitor, name: str, **labels: str) -> float | None:
    return series(monitor).get((name, frozenset(labels.items())))


def alive(monitor: Monitor) -> None:
    worker = monitor.processes["worker"]
    assert worker.poll() is None, "worker died:\n" + monitor.log_text("worker")[-3000:]


def test_a_tombstone_is_dead_lettered_and_the_events_after_it_count(
    monitor_factory: MonitorFactory,
) -> None:
    """A record with no value does not stop the worker; the next events are stored and shown."""
    monitor = monitor_factory()
    pid = monitor.processes["worker"].pid
    publish(monitor, [("inventory", b"DC-T", None), ("orders", b"DC-T", None)])
    publish(monitor, events(snapshot_event("t1", "DC-T", T0, on_hand=7)))
    wait_for(
        lambda: value(monitor, "inventory_value_dollars", location="DC-T") == 14.0,
        90,
        what="the snapshot after the tombstones",
    )
    alive(monitor)
    assert monitor.processes["worker"].pid == pid
    assert monitor.counters().get("events_invalid_total|inventory|tombstone") == 1


def test_a_subnormal_quantity_breaks_neither_metrics_nor_other_locations(
    monitor_factory: MonitorFactory,
) -> None:
    """An order line of 5e-324 units (an infinite forecast error) is refused; /metrics serves."""
    monitor = monitor_factory()
    start = T0
    forecast = {
        "event_id": "fc-1", "event_type": "forecast.published", "occurred_at": stamp(start - 60),
        "location": "DC-X", "sku": "S1", "period_start": stamp(start),
        "period_end": stamp(start + 3600), "quantity": 10.0, "model": "m",
    }  # fmt: skip
    order = {
        "event_id": "o-1", "event_type": "order.placed", "occurred_at": stamp(start + 600),
        "location": "DC-X", "order_id": "o-1", "customer_id": "c", "customer_tier": "key",
        "channel": "web", "region": "north", "promised_at": stamp(start + 7200),
        "lines": [{"line_id": "1", "sku": "S1", "quantity": 5e-324, "unit_price": 1.0}],
    }  # fmt: skip
    publish(
        monitor,
        events(
            snapshot_event("x0", "DC-X", start - 120),
            forecast,
            order,
            snapshot_event("x1", "DC-X", start + 4 * 3600),
            snapshot_event("y1", "DC-Y", start + 4 * 3600, on_hand=3),
        ),
    )
    wait_for(
        lambda: value(monitor, "inventory_value_dollars", location="DC-Y") == 6.0,
        90,
        what="the other location's KPIs",
    )
    assert value(monitor, "inventory_value_dollars", location="DC-X") == 20.0
    alive(monitor)
    assert monitor.counters().get("events_invalid_total|orders|out_of_bounds") == 1


def test_an_event_a_year_ahead_does_not_take_over_its_location(
    monitor_factory: MonitorFactory,
) -> None:
    """A snapshot stamped a year ahead is refused; the location's watermark stays in the present."""
    monitor = monitor_factory()
    publish(monitor, events(snapshot_event("f0", "DC-F", T0)))
    publish(monitor, events(snapshot_event("f1", "DC-F", NOW + 365 * 86400, on_hand=1)))
    publish(monitor, events(snapshot_event("f2", "DC-F", T0 + 3600, on_hand=5)))
    wait_for(
        lambda: value(monitor, "inventory_value_dollars", location="DC-F") == 10.0,
        90,
        what="the later, correct snapshot",
    )
    watermark = value(monitor, "inventory_watermark_timestamp_seconds", location="DC-F")
    assert watermark is not None and watermark <= T0 + 3600
    assert value(monitor, "inventory_window_covered_days", location="DC-F", window="7d")
    assert monitor.counters().get("events_invalid_total|inventory|clock_skew") == 1


def test_two_codes_that_looked_alike_stay_two_series(monitor_factory: MonitorFactory) -> None:
    """`DC/1` and `DC_1` are exported as two locations with their own values."""
    monitor = monitor_factory()
    publish(
        monitor,
        events(
            snapshot_event("s1", "DC/1", T0, on_hand=1),
            snapshot_event("s2", "DC_1", T0, on_hand=100),
        ),
    )
    wait_for(
        lambda: value(monitor, "inventory_value_dollars", location="DC_1") == 200.0,
        90,
        what="the DC_1 series",
    )
    assert value(monitor, "inventory_value_dollars", location="DC/1") == 2.0


def test_a_flood_of_junk_codes_does_not_push_out_established_locations(
    monitor_factory: MonitorFactory,
) -> None:
    """Under a cap of 5, 300 one-event codes that sort first leave the 3 busy locations exported."""
    monitor = monitor_factory({"KPIMON_KPI__MAX_LOCATIONS": "5"})
    real = ["DC-NORTH", "DC-SOUTH", "DC-WEST"]
    busy = [
        snapshot_event(f"{code}-{n}", code, T0 + n * 60, on_hand=n + 1)
        for code in real
        for n in range(20)
    ]
    junk = [snapshot_event(f"junk-{n}", f"000-{n:04d}", T0 + 3000) for n in range(300)]
    publish(monitor, events(*busy))
    publish(monitor, events(*junk))
    monitor.wait_processed(len(busy) + len(junk), timeout=120)
    monitor.wait_snapshot_of(len(busy) + len(junk), timeout=120)
    exported = {
        dict(labels)["location"]
        for name, labels in series(monitor)
        if name == "inventory_value_dollars"
    }
    assert set(real) <= exported
    assert len(exported) <= 5
