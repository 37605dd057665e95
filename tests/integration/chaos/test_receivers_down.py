"""Receivers down, nothing lost: through a running worker, end to end.

The worker runs with Alertmanager and the signed webhook configured, but neither is
reachable (nothing listens on their ports) while alert state changes happen: a stockout
fires and resolves at one location, another stockout fires and stays. The `kpi-alerts`
topic (Kafka stays up) records the ground truth. Then a private Alertmanager and the
reference webhook receiver (alerts/receiver.py) come up: every state change reaches the
webhook, in order, each once after the receiver's de-duplication; Alertmanager ends up
with exactly the alert that is still firing.
(tests/integration/alerts/ covers the dispatcher-level outage and the signature checks.)
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer

from alerts.receiver import Inbox, build_app, serve
from tests.integration.fixtures import MonitorFactory
from tests.integration.monitor import REPO, Monitor, free_port, wait_for

pytestmark = pytest.mark.integration

SECRET = "receivers-down-secret-5e1"


def snapshot(event_id: str, location: str, on_hand: int, hour: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "event_type": "inventory.snapshot",
        "occurred_at": f"2026-05-01T{hour:02d}:00:00+00:00",
        "sku": "SKU-RD",
        "location": location,
        "on_hand": on_hand,
        "on_order": 0,
        "in_transit": 0,
        "unit_cost": 3.0,
        "sku_class": "C",
    }


class Receiver:
    """alerts.receiver in a thread with its own event loop."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox: Inbox | None = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: Any = None

    def start(self) -> None:
        self._thread.start()

        async def up() -> None:
            self.inbox = Inbox()
            self._runner = await serve(build_app(SECRET.encode(), self.inbox), port=self.port)

        asyncio.run_coroutine_threadsafe(up(), self._loop).result(timeout=30)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


@pytest.fixture()
def alertmanager_port(tmp_path: Path) -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield free_port(), started
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def alert_records(monitor: Monitor, consumer: KafkaConsumer, into: list[dict[str, Any]]) -> int:
    for record in consumer:
        into.append(orjson.loads(record.value))
    return len(into)


def test_alerts_reach_receivers_that_were_down(
    monitor_factory: MonitorFactory, alertmanager_port: Any, tmp_path: Path
) -> None:
    am_port, am_processes = alertmanager_port
    hook_port = free_port()
    location = f"RD-{hook_port}"
    other = f"RD2-{hook_port}"
    monitor = monitor_factory(
        {
            "KPIMON_ALERTS__ALERTMANAGER_URL": f"http://127.0.0.1:{am_port}",
            "KPIMON_ALERTS__WEBHOOK_URL": f"http://127.0.0.1:{hook_port}/webhook",
            "KPIMON_ALERTS__WEBHOOK_SECRET": SECRET,
        },
        exporter=False,
    )
    consumer = KafkaConsumer(
        monitor.topic_prefix + "kpi-alerts",
        bootstrap_servers=monitor.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=500,
    )
    truth: list[dict[str, Any]] = []
    stages = [
        [snapshot("rd-1", location, 5, 1), snapshot("rd-2", location, 0, 2)],  # fires
        [snapshot("rd-3", location, 8, 3)],  # resolves
        [snapshot("rd-4", other, 4, 4), snapshot("rd-5", other, 0, 5)],  # fires, stays
    ]
    try:
        for number, stage in enumerate(stages, start=1):
            body = b"".join(orjson.dumps(event) + b"\n" for event in stage)
            result = monitor.kpimon("publish", "-", input=body)
            assert result.returncode == 0, result.stderr.decode()[-2000:]
            wait_for(
                lambda n=number: alert_records(monitor, consumer, truth) >= n,
                timeout=60,
                what=f"state change {number} on kpi-alerts",
            )
    finally:
        consumer.close()
    assert [(t["labels"]["location"], t["event_type"]) for t in truth] == [
        (location, "alert.firing"),
        (location, "alert.resolved"),
        (other, "alert.firing"),
    ]
    failed = wait_for(
        lambda: (
            {
                channel: v
                for k, v in monitor.counters().items()
                if k.startswith("alerts_sent_total|")
                and k.endswith("|failed")
                and (channel := k.split("|")[1]) in ("webhook", "alertmanager")
            }.keys()
            >= {"webhook", "alertmanager"}
        ),
        timeout=60,
        what="failed deliveries to both receivers while they are down",
    )
    assert failed

    receiver = Receiver(hook_port)
    receiver.start()
    (tmp_path / "am").mkdir()
    am_processes.append(
        subprocess.Popen(
            [
                "prometheus-alertmanager",
                f"--config.file={REPO / 'alerts' / 'alertmanager.yml'}",
                f"--storage.path={tmp_path / 'am'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    )
    try:
        inbox = receiver.inbox
        assert inbox is not None
        wait_for(lambda: len(inbox.transitions) >= len(truth), timeout=90, what="the webhook")
        assert [t["id"] for t in inbox.transitions] == [t["event_id"] for t in truth]
        assert [t["status"] for t in inbox.transitions] == ["firing", "resolved", "firing"]

        def active() -> list[str]:
            response = httpx.get(f"http://127.0.0.1:{am_port}/api/v2/alerts", timeout=5)
            return sorted(
                a["labels"].get("location", "")
                for a in response.json()
                if a["labels"].get("location", "").startswith("RD")
                and a["status"]["state"] == "active"
            )

        wait_for(lambda: active() == [other], timeout=90, what="Alertmanager's active alerts")
    finally:
        receiver.stop()
