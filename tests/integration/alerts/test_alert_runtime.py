"""The worker's wiring end to end: real engine, Redis, Alertmanager, webhook and Kafka topic."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import SecretStr

from alerts.receiver import Inbox, build_app, serve
from alerts.runtime import AlertRuntime
from streams.core.engine import KpiEngine
from streams.events.decode import Rejection, decode_event
from streams.settings import AlertSettings, RedisSettings, Settings

SECRET = "runtime-secret"


def _events(location: str) -> list[Any]:
    now = time.time()

    def at(offset: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(now - 3600 + offset))

    raw = [
        {
            "event_id": f"{location}-s1", "event_type": "inventory.snapshot",
            "occurred_at": at(0), "sku": "SKU-A", "location": location, "on_hand": 4,
            "on_order": 0, "in_transit": 0, "unit_cost": 10, "sku_class": "A",
        },
        {
            "event_id": f"{location}-a1", "event_type": "inventory.adjusted",
            "occurred_at": at(60), "sku": "SKU-A", "location": location, "delta": -4,
            "reason": "picked",
        },
    ]  # fmt: skip
    events = [decode_event(json.dumps(item).encode()) for item in raw]
    assert not any(isinstance(e, Rejection) for e in events)
    return events


async def _until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_runtime_delivers_on_every_channel_and_survives_a_restart(
    local_stack: Any, key_prefix: str, run_id: str
) -> None:
    """A stockout reaches Alertmanager, the webhook and kpi-alerts once, even across a restart."""
    location = f"{run_id}-DC1"
    topic = f"{run_id}-kpi-alerts"
    outcomes: list[tuple[str, str]] = []

    async def count(channel: str, outcome: str) -> None:
        outcomes.append((channel, outcome))

    async def scenario() -> None:
        inbox = Inbox()
        runner = await serve(build_app(SECRET.encode(), inbox))
        producer = AIOKafkaProducer(bootstrap_servers=local_stack.kafka_bootstrap)
        await producer.start()

        async def send(key: bytes, value: bytes) -> None:
            await producer.send_and_wait(topic, value, key=key)

        settings = Settings(
            redis=RedisSettings(url=local_stack.redis_url, key_prefix=key_prefix),
            alerts=AlertSettings(
                alertmanager_url=local_stack.alertmanager_url,
                webhook_url=f"http://127.0.0.1:{runner.addresses[0][1]}/webhook",
                webhook_secret=SecretStr(SECRET),
                resend_interval_seconds=1.0,
            ),
        )
        engine = KpiEngine(settings.kpi)
        for event in _events(location):
            engine.add(event)
        try:
            runtime = AlertRuntime.from_settings(
                settings, aioredis.Redis.from_url(local_stack.redis_url), send, count
            )
            await runtime.start()
            result = await runtime.process(engine, [location])
            assert [(t.status, t.alertname, t.severity) for t in result.transitions] == [
                ("firing", "InventoryStockout", "critical")
            ]
            await _until(lambda: len(inbox.transitions) == 1, "the webhook")
            await _until(
                lambda: httpx.get(
                    f"{local_stack.alertmanager_url}/api/v2/alerts",
                    params={"filter": f'location="{location}"'},
                ).json(),
                "Alertmanager",
            )
            await _until(lambda: ("kafka", "sent") in outcomes, "the kafka channel")
            await _until(lambda: ("alertmanager", "resent") in outcomes, "a re-send round")
            await runtime.stop()

            restarted = AlertRuntime.from_settings(
                settings, aioredis.Redis.from_url(local_stack.redis_url), send, count
            )
            await restarted.start()
            again = await restarted.process(engine, [location])
            assert again.transitions == []
            await asyncio.sleep(1.5)
            await restarted.stop()
            assert len(inbox.transitions) == 1
            sent = sorted(c for c, o in outcomes if o == "sent")
            assert sent == ["alertmanager", "kafka", "webhook"]

            consumer = AIOKafkaConsumer(
                topic,
                bootstrap_servers=local_stack.kafka_bootstrap,
                auto_offset_reset="earliest",
                group_id=f"itest-{uuid.uuid4().hex[:8]}",
            )
            await consumer.start()
            try:
                batch = await consumer.getmany(timeout_ms=10_000, max_records=10)
            finally:
                await consumer.stop()
            records = [r for rs in batch.values() for r in rs]
            assert len(records) == 1
            event = json.loads(records[0].value)
            assert event["event_type"] == "alert.firing"
            assert event["labels"]["location"] == location
            assert records[0].key == result.transitions[0].fingerprint.encode()
        finally:
            await producer.stop()
            await runner.cleanup()

    asyncio.run(scenario())
