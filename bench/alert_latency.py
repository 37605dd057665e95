"""Event-to-Alertmanager latency: how long a stockout takes to page, on the local stack.

Run: `.venv/bin/python -m bench.alert_latency [--count 20]` with the stack up
(`deploy/stack.sh up-infra`). For each of `count` fresh locations it publishes
a snapshot with stock, then the adjustment that empties the shelf (stamped with
the current time), and polls Alertmanager's API until InventoryStockout for that
location is there. Prints p50/p90/p99 and the worst latency, in seconds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx
import orjson
from kafka import KafkaProducer

from tests.integration.monitor import Monitor, wait_for

ALERTMANAGER = "http://127.0.0.1:9093"


def _event(location: str, kind: str, **fields: object) -> bytes:
    return orjson.dumps(
        {
            "event_id": f"{location}-{kind}",
            "occurred_at": datetime.now(UTC).isoformat(),
            "sku": "SKU-LAT",
            "location": location,
            **fields,
        }
    )


def _paged(location: str) -> bool:
    response = httpx.get(
        f"{ALERTMANAGER}/api/v2/alerts",
        params={"filter": [f'location="{location}"', 'alertname="InventoryStockout"']},
        timeout=5,
    )
    return bool(response.json())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20)
    args = parser.parse_args(argv)
    monitor = Monitor(
        kafka_bootstrap="127.0.0.1:9092",
        redis_url="redis://127.0.0.1:6379/0",
        log_dir=Path(tempfile.mkdtemp(prefix="alert-latency-")),
        extra_env={"KPIMON_ALERTS__ALERTMANAGER_URL": ALERTMANAGER},
    )
    monitor.create_topics()
    monitor.start("worker")
    try:
        wait_for(
            lambda: monitor.redis().get(f"{monitor.key_prefix}worker:status"),
            timeout=90,
            what="the worker",
        )
        producer = KafkaProducer(bootstrap_servers="127.0.0.1:9092", linger_ms=0)
        topic = monitor.topic_prefix + "inventory"
        latencies = []
        for _ in range(min(args.count, 200)):
            location = f"LAT-{uuid.uuid4().hex[:8]}"
            stocked = _event(
                location,
                "snap",
                event_type="inventory.snapshot",
                on_hand=5,
                on_order=0,
                in_transit=0,
                unit_cost=10.0,
                sku_class="B",
            )
            producer.send(topic, key=location.encode(), value=stocked).get(timeout=10)
            time.sleep(1.0)
            emptied = _event(
                location, "pick", event_type="inventory.adjusted", delta=-5, reason="pick"
            )
            sent = time.monotonic()
            producer.send(topic, key=location.encode(), value=emptied).get(timeout=10)
            wait_for(partial(_paged, location), timeout=60, interval=0.05, what=location)
            latencies.append(time.monotonic() - sent)
        producer.close()
    finally:
        monitor.stop()
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    p90 = latencies[round(0.9 * (len(latencies) - 1))]
    print(
        f"event -> Alertmanager over {len(latencies)} stockouts: p50 "
        f"{statistics.median(latencies):.2f} s, p90 {p90:.2f} s, p99 {p99:.2f} s, "
        f"worst {latencies[-1]:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
