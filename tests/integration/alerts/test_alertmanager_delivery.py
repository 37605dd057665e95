"""Transitions reach the real Alertmanager with labels and annotations, stay alive, and resolve."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import redis.asyncio as aioredis

from alerts.dispatcher import Backoff, Dispatcher
from alerts.links import Links
from alerts.notifiers.alertmanager import AlertmanagerNotifier, AlertmanagerResender
from alerts.pipeline import evaluate_engine
from alerts.rules import load_rules
from alerts.store import RedisAlertStore

LINKS = Links("http://grafana.test:3000", "https://runbooks.test/blob/main/alerts/runbooks")


def _active(alertmanager_url: str, run_id: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{alertmanager_url}/api/v2/alerts",
        params={"filter": f'location=~"{run_id}.*"'},
        timeout=10,
    )
    response.raise_for_status()
    alerts: list[dict[str, Any]] = response.json()
    return alerts


async def _await(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        await asyncio.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_stockout_fires_and_resolves_in_alertmanager(
    local_stack: Any,
    key_prefix: str,
    run_id: str,
    make_view: Callable[..., Any],
    source: Any,
) -> None:
    """An A-class stockout appears as critical with its annotations, then resolves."""
    rules = load_rules(None)
    location = f"{run_id}-DC1"
    stocked_out = source(views=[make_view(location, "SKU-9", sku_class="A")])
    restocked = source(
        views=[
            make_view(
                location, "SKU-9", sku_class="A", stocked_out=False, on_hand=50,
                projected_stockout_at=None,
            )
        ]
    )  # fmt: skip

    async def deliver(store: RedisAlertStore, engine: Any, states: Any) -> Any:
        notifier = AlertmanagerNotifier(local_stack.alertmanager_url, firing_ttl_seconds=300)
        result = evaluate_engine(rules, engine, states, [location], LINKS)
        await store.commit(result.changes, result.transitions)
        outcomes: list[str] = []
        dispatcher = Dispatcher(
            store, [notifier], on_result=lambda c, o: outcomes.append(o), backoff=Backoff(0.1)
        )
        assert await dispatcher.drain(notifier) == len(result.transitions)
        assert outcomes == ["sent"] * len(result.transitions)
        return result

    async def scenario() -> None:
        store = RedisAlertStore(
            aioredis.Redis.from_url(local_stack.redis_url), ["alertmanager"], prefix=key_prefix
        )
        fired = await deliver(store, stocked_out, {})
        [alert] = await _await(lambda: _active(local_stack.alertmanager_url, run_id), "firing")
        assert alert["labels"] == {
            "alertname": "InventoryStockout",
            "severity": "critical",
            "location": location,
            "sku": "SKU-9",
        }
        notes = alert["annotations"]
        assert notes["summary"] == f"SKU SKU-9 is out of stock at {location}"
        assert "class A" in notes["description"]
        assert notes["runbook_url"] == (
            "https://runbooks.test/blob/main/alerts/runbooks/InventoryStockout.md"
        )
        assert notes["dashboard_url"] == (
            f"http://grafana.test:3000/d/kpimon-oncall?var-location={location}"
        )
        assert alert["status"]["state"] in {"active", "suppressed"}

        await asyncio.sleep(1.1)  # let the wall clock move past endsAt's millisecond resolution
        resender = AlertmanagerResender(store, AlertmanagerNotifier(local_stack.alertmanager_url))
        assert await resender.resend_once() == 1
        [renewed] = _active(local_stack.alertmanager_url, run_id)
        assert renewed["endsAt"] > alert["endsAt"]  # kept alive by the periodic re-send

        restarted = RedisAlertStore(
            aioredis.Redis.from_url(local_stack.redis_url), ["alertmanager"], prefix=key_prefix
        )
        resolved = await deliver(restarted, restocked, await restarted.load_states())
        assert [t.status for t in resolved.transitions] == ["resolved"]
        assert resolved.transitions[0].fingerprint == fired.transitions[0].fingerprint
        await _await(lambda: _active(local_stack.alertmanager_url, run_id) == [], "resolution")

    asyncio.run(scenario())


def test_disruption_annotations_reach_alertmanager(
    local_stack: Any, key_prefix: str, run_id: str, make_view: Callable[..., Any], source: Any
) -> None:
    """A critical disruption pages with value at risk, SKU-locations at risk and projections."""
    from streams.core.views import DisruptionView

    rules = load_rules(None)
    location = f"{run_id}-DC2"
    now = time.time()
    views = [
        make_view(location, "SKU-1", stocked_out=False, on_hand=10, value=400.0),
        make_view(location, "SKU-2", stocked_out=False, on_hand=5, value=100.0),
    ]
    disruption = DisruptionView(
        disruption_id=f"{run_id}-D1", kind="port_closure", severity="critical",
        supplier_id=None, locations=(location,), skus=(), expected_delay_days=4.0,
        description="Port strike", reported_at=now - 30, resolved_at=None,
        covered=((location, "SKU-1"), (location, "SKU-2")), value_at_risk=500.0,
        projected_stockouts=((location, "SKU-2"),),
    )  # fmt: skip

    async def run(engine: Any, states: Any) -> Any:
        store = RedisAlertStore(
            aioredis.Redis.from_url(local_stack.redis_url), ["alertmanager"], prefix=key_prefix
        )
        notifier = AlertmanagerNotifier(local_stack.alertmanager_url)
        result = evaluate_engine(rules, engine, states, [location], LINKS)
        await store.commit(result.changes, result.transitions)
        await Dispatcher(store, [notifier]).drain(notifier)
        return result

    def disruption_alerts() -> list[dict[str, Any]]:
        return [
            a
            for a in _active(local_stack.alertmanager_url, run_id)
            if a["labels"]["alertname"] == "InventoryDisruption"
        ]

    async def scenario() -> None:
        fired = await run(source(views=views, disruption_views=[disruption]), {})
        [alert] = await _await(disruption_alerts, "the disruption alert")
        assert alert["labels"]["severity"] == "critical"
        assert alert["labels"]["disruption_id"] == f"{run_id}-D1"
        assert alert["labels"]["location"] == location
        notes = alert["annotations"]
        assert notes["value_at_risk"] == "500"
        assert notes["sku_locations_at_risk"] == "2"
        assert notes["projected_stockouts"] == "1"
        assert f"projected stockouts: 1 ({location}/SKU-2)" in notes["description"]
        assert notes["description"].startswith("Port strike. Reported ")

        resolved_view = replace(disruption, resolved_at=time.time())
        after = await run(source(views=views, disruption_views=[resolved_view]), fired.states)
        assert any(
            t.status == "resolved" and t.alertname == "InventoryDisruption"
            for t in after.transitions
        )
        await _await(lambda: not disruption_alerts(), "the disruption to resolve")

    asyncio.run(scenario())
