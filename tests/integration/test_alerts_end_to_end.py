"""A location running down its stock pages on-call through the real worker and Alertmanager.

One JSONL log, published a day at a time with `kpimon publish`: the projected stockout
must fire while stock remains, the stockout when it reaches zero, the critical
disruption when reported and resolve when it is resolved — in Alertmanager and
as state changes on the `kpi-alerts` topic.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer

from tests.integration.fixtures import MonitorFactory
from tests.integration.monitor import Monitor, wait_for

pytestmark = pytest.mark.integration

T0 = datetime(2026, 4, 1, tzinfo=UTC)
DAILY_DEMAND = 10


def at(days: float) -> str:
    return (T0 + timedelta(days=days)).isoformat()


def days_since_start(stamp: str) -> float:
    return (datetime.fromisoformat(stamp) - T0) / timedelta(days=1)


def running_down_log(location: str) -> list[dict[str, Any]]:
    """100 units, 10 ordered and picked a day: cover falls under the 7-day lead time, then 0."""
    sku = "SKU-RUN"
    events: list[dict[str, Any]] = [
        {
            "event_id": f"{location}-snap",
            "event_type": "inventory.snapshot",
            "occurred_at": at(0),
            "sku": sku,
            "location": location,
            "on_hand": 100,
            "on_order": 0,
            "in_transit": 0,
            "unit_cost": 25.0,
            "sku_class": "A",
            "supplier_id": "SUP-RUN",
        }
    ]
    for day in range(10):
        events.append(
            {
                "event_id": f"{location}-order-{day}",
                "event_type": "order.placed",
                "occurred_at": at(day + 0.25),
                "order_id": f"O-{day}",
                "location": location,
                "customer_id": "C-1",
                "customer_tier": "standard",
                "channel": "web",
                "region": "north",
                "promised_at": at(day + 2),
                "lines": [
                    {"line_id": "1", "sku": sku, "quantity": DAILY_DEMAND, "unit_price": 40.0}
                ],
            }
        )
        events.append(
            {
                "event_id": f"{location}-pick-{day}",
                "event_type": "inventory.adjusted",
                "occurred_at": at(day + 0.5),
                "sku": sku,
                "location": location,
                "delta": -DAILY_DEMAND,
                "reason": "pick",
            }
        )
    disruption = {
        "disruption_id": f"DIS-{location}",
    }
    events.append(
        {
            "event_id": f"{location}-dis-on",
            "event_type": "disruption.reported",
            "occurred_at": at(3),
            **disruption,
            "kind": "port_closure",
            "severity": "critical",
            "supplier_id": "SUP-RUN",
            "locations": [location],
            "skus": [],
            "expected_delay_days": 5,
            "description": "port closed",
        }
    )
    events.append(
        {
            "event_id": f"{location}-dis-off",
            "event_type": "disruption.resolved",
            "occurred_at": at(5),
            **disruption,
        }
    )
    return sorted(events, key=lambda event: event["occurred_at"])


def active_alerts(alertmanager_url: str, location: str) -> dict[str, dict[str, Any]]:
    response = httpx.get(
        f"{alertmanager_url}/api/v2/alerts",
        params={"filter": f'location="{location}"', "active": "true"},
        timeout=10,
    )
    response.raise_for_status()
    return {alert["labels"]["alertname"]: alert for alert in response.json()}


@pytest.fixture(scope="module")
def published(
    local_stack: Any, monitor_factory: MonitorFactory, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Monitor, str, list[dict[str, Any]]]:
    location = f"RUN-{uuid.uuid4().hex[:6]}"
    monitor = monitor_factory(
        {
            "KPIMON_ALERTS__ALERTMANAGER_URL": local_stack.alertmanager_url,
            "KPIMON_ALERTS__RESEND_INTERVAL_SECONDS": "5",
        }
    )
    log = running_down_log(location)
    # Published a day at a time, as it happens live: the log spans several topics, and
    # a worker may take one topic's batch before another's, so what one file published
    # at once pages would depend on how the consumer happened to fetch it.
    folder = tmp_path_factory.mktemp("alerts")
    published = 0
    for day in range(11):
        chunk = [e for e in log if int(days_since_start(e["occurred_at"])) == day]
        if not chunk:
            continue
        path: Path = folder / f"running-down-{day}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(event) + b"\n" for event in chunk))
        result = monitor.kpimon("publish", str(path))
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        published += len(chunk)
        monitor.wait_processed(published)
    assert published == len(log)

    consumer = KafkaConsumer(
        monitor.topic_prefix + "kpi-alerts",
        bootstrap_servers=monitor.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    changes: list[dict[str, Any]] = []

    def collected() -> bool:
        changes.extend(orjson.loads(record.value) for record in consumer)
        names = {(c["labels"]["alertname"], c["status"]) for c in changes}
        return {
            ("InventoryProjectedStockout", "firing"),
            ("InventoryStockout", "firing"),
            ("InventoryDisruption", "firing"),
            ("InventoryDisruption", "resolved"),
        } <= names

    try:
        wait_for(collected, timeout=90, interval=1, what="the alert state changes on kpi-alerts")
    except AssertionError as error:
        seen = sorted({(c["labels"]["alertname"], c["status"]) for c in changes})
        pytest.fail(f"{error}; seen: {seen}\nworker log:\n{monitor.log_text('worker')[-3000:]}")
    consumer.close()
    return monitor, location, changes


def test_projected_stockout_fires_while_stock_remains(
    published: tuple[Monitor, str, list[dict[str, Any]]],
) -> None:
    """The projected stockout pages before the shelf is empty (event time before on_hand 0)."""
    _monitor, location, changes = published
    mine = [c for c in changes if c["labels"].get("location") == location]
    projected = next(
        c
        for c in mine
        if c["labels"]["alertname"] == "InventoryProjectedStockout" and c["status"] == "firing"
    )
    stockout = next(
        c
        for c in mine
        if c["labels"]["alertname"] == "InventoryStockout" and c["status"] == "firing"
    )
    assert projected["labels"]["sku"] == "SKU-RUN"
    projected_at = datetime.fromisoformat(projected["at"])
    stockout_at = datetime.fromisoformat(stockout["at"])
    assert projected_at < stockout_at, "the projected stockout must come first"
    # On-hand reaches 0 with the tenth pick, at day 9.5.
    assert stockout_at >= datetime.fromisoformat(at(9.5))
    assert projected["labels"]["severity"] == "critical"  # A-class SKU


def test_disruption_fires_and_resolves_in_order(
    published: tuple[Monitor, str, list[dict[str, Any]]],
) -> None:
    """A critical disruption pages with what it puts at risk, and resolves with it."""
    _monitor, location, changes = published
    disruption = [c for c in changes if c["labels"]["alertname"] == "InventoryDisruption"]
    ours = [c for c in disruption if location in orjson.dumps(c).decode()]
    assert [c["status"] for c in ours] == ["firing", "resolved"]
    assert ours[0]["labels"]["severity"] == "critical"
    assert "SKU-RUN" in ours[0]["annotations"]["description"]


def test_alertmanager_shows_the_stockout_and_not_the_resolved_disruption(
    local_stack: Any, published: tuple[Monitor, str, list[dict[str, Any]]]
) -> None:
    """Alertmanager holds the firing stockout with its labels and annotations."""
    _monitor, location, _changes = published
    alerts = wait_for(
        lambda: (
            (found := active_alerts(local_stack.alertmanager_url, location))
            and "InventoryStockout" in found
            and "InventoryDisruption" not in found
            and found
        ),
        timeout=60,
        interval=1,
        what="the stockout in Alertmanager",
    )
    stockout = alerts["InventoryStockout"]
    assert stockout["labels"]["sku"] == "SKU-RUN"
    assert stockout["labels"]["severity"] == "critical"
    for key in ("summary", "description", "runbook_url", "dashboard_url"):
        assert stockout["annotations"][key]
