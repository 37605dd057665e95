"""1000 SKU-locations stocking out at once make few batched requests and one group per location."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import redis.asyncio as aioredis
from pydantic import SecretStr

from alerts.dispatcher import Dispatcher
from alerts.links import Links
from alerts.notifiers import Notifier
from alerts.notifiers.alertmanager import AlertmanagerNotifier
from alerts.notifiers.webhook import WebhookNotifier
from alerts.pipeline import evaluate_engine
from alerts.receiver import Inbox, build_app, serve
from alerts.rules import load_rules
from alerts.store import RedisAlertStore

LOCATIONS = 5
SKUS_PER_LOCATION = 200
SECRET = "storm-secret"


def _groups(alertmanager_url: str, run_id: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{alertmanager_url}/api/v2/alerts/groups",
        params={"filter": [f'location=~"{run_id}.*"', 'alertname="InventoryStockout"']},
        timeout=10,
    )
    response.raise_for_status()
    groups: list[dict[str, Any]] = response.json()
    return [g for g in groups if g["alerts"]]


def test_a_thousand_stockouts_are_batched_and_grouped(
    local_stack: Any, key_prefix: str, run_id: str, make_view: Callable[..., Any], source: Any
) -> None:
    """1000 transitions take 2 Alertmanager and 10 webhook requests and form 5 groups."""
    locations = [f"{run_id}-L{n}" for n in range(LOCATIONS)]
    views = [make_view(loc, f"SKU-{n:04d}") for loc in locations for n in range(SKUS_PER_LOCATION)]
    rules = load_rules(None)
    am_requests: list[int] = []

    async def count(request: httpx.Request) -> None:
        am_requests.append(len(request.content))

    async def scenario() -> None:
        inbox = Inbox()
        runner = await serve(build_app(SECRET.encode(), inbox))
        webhook_url = f"http://127.0.0.1:{runner.addresses[0][1]}/webhook"
        notifiers: list[Notifier] = [
            AlertmanagerNotifier(
                local_stack.alertmanager_url,
                httpx.AsyncClient(event_hooks={"request": [count]}),
                max_batch=500,
            ),
            WebhookNotifier(webhook_url, SecretStr(SECRET), max_batch=100),
        ]
        store = RedisAlertStore(
            aioredis.Redis.from_url(local_stack.redis_url),
            [n.channel for n in notifiers],
            prefix=key_prefix,
        )
        try:
            fired = evaluate_engine(rules, source(views=views), {}, locations, Links())
            assert len(fired.transitions) == LOCATIONS * SKUS_PER_LOCATION
            await store.commit(fired.changes, fired.transitions)
            dispatcher = Dispatcher(store, notifiers, batch_size=1000)
            started = time.monotonic()
            for notifier in notifiers:
                assert await dispatcher.drain(notifier) == 1000
            elapsed = time.monotonic() - started
            assert len(am_requests) == 2
            assert len(inbox.transitions) == 1000
            assert elapsed < 60, f"1000 alerts took {elapsed:.1f}s to deliver"

            deadline = time.monotonic() + 20
            groups = _groups(local_stack.alertmanager_url, run_id)
            while sum(len(g["alerts"]) for g in groups) < 1000 and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
                groups = _groups(local_stack.alertmanager_url, run_id)
            assert sorted(g["labels"]["location"] for g in groups) == sorted(locations)
            assert all(len(g["alerts"]) == SKUS_PER_LOCATION for g in groups)

            restocked = [
                make_view(
                    v.location, v.sku, stocked_out=False, on_hand=90, projected_stockout_at=None
                )
                for v in views
            ]
            cleared = evaluate_engine(
                rules, source(views=restocked), fired.states, locations, Links()
            )
            assert len(cleared.transitions) == 1000
            assert {t.status for t in cleared.transitions} == {"resolved"}
            await store.commit(cleared.changes, cleared.transitions)
            for notifier in notifiers:
                assert await dispatcher.drain(notifier) == 1000
            assert len(am_requests) == 4
            deadline = time.monotonic() + 20
            while _groups(local_stack.alertmanager_url, run_id) and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
            assert _groups(local_stack.alertmanager_url, run_id) == []
        finally:
            await runner.cleanup()

    asyncio.run(scenario())
