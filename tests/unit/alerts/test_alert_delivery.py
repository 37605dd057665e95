"""The dispatcher retries in order with capped back-off and acks only after success."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace

import httpx
import pytest

from alerts.dispatcher import Backoff, Dispatcher
from alerts.model import AlertState, Transition
from alerts.notifiers import DeliveryError
from alerts.notifiers.alertmanager import AlertmanagerNotifier
from alerts.notifiers.kafka_topic import KafkaTopicNotifier
from alerts.store import OutboxEntry


def _t(n: int, status: str = "firing") -> Transition:
    return Transition(
        id=f"id-{n}", key=f"k{n}", fingerprint=f"fp{n}", status=status,  # type: ignore[arg-type]
        labels={"alertname": "InventoryStockout", "severity": "warning", "sku": f"S{n}"},
        annotations={"summary": f"s{n}", "dashboard_url": "http://g/d/kpimon-oncall"},
        starts_at=100.0, ends_at=200.0 if status == "resolved" else None, at=150.0,
    )  # fmt: skip


class MemoryOutbox:
    """An in-memory Outbox with the Redis store's semantics."""

    def __init__(self, *transitions: Transition, channel: str = "test") -> None:
        self.entries = [OutboxEntry(str(i), t) for i, t in enumerate(transitions)]
        self.dead: list[tuple[OutboxEntry, str]] = []
        self.channel = channel

    async def peek(self, channel: str, count: int) -> list[OutboxEntry]:
        return self.entries[:count]

    async def wait(self, channel: str, timeout: float) -> None:
        await asyncio.sleep(0)

    async def ack(self, channel: str, entry_ids: Sequence[str]) -> None:
        self.entries = [e for e in self.entries if e.entry_id not in set(entry_ids)]

    async def reject(self, channel: str, entries: Sequence[OutboxEntry], reason: str) -> None:
        gone = {e.entry_id for e in entries}
        self.dead += [(e, reason) for e in entries]
        self.entries = [e for e in self.entries if e.entry_id not in gone]

    async def acquire(self, channel: str, owner: str, ttl_seconds: float) -> bool:
        return True


class Flaky:
    """A notifier that fails its first `failures` calls, and refuses ids in `refuse` for good."""

    channel = "test"

    def __init__(self, failures: int = 0, refuse: frozenset[str] = frozenset()) -> None:
        self.failures = failures
        self.refuse = refuse
        self.delivered: list[str] = []
        self.calls = 0

    async def deliver(self, transition: Transition) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise DeliveryError("test: HTTP 503")
        if transition.id in self.refuse:
            raise DeliveryError("test: HTTP 400", permanent=True)
        self.delivered.append(transition.id)


class FlakyBatch(Flaky):
    """The same as a batch notifier."""

    max_batch = 2

    async def deliver_batch(self, transitions: Sequence[Transition]) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise DeliveryError("test: HTTP 503")
        if any(t.id in self.refuse for t in transitions):
            raise DeliveryError("test: HTTP 400", permanent=True)
        self.delivered += [t.id for t in transitions]


def _dispatcher(outbox: MemoryOutbox, notifier: Flaky) -> tuple[Dispatcher, list[float], list[str]]:
    sleeps: list[float] = []
    outcomes: list[str] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    dispatcher = Dispatcher(
        outbox,
        [notifier],
        on_result=lambda channel, outcome: outcomes.append(f"{channel}:{outcome}"),
        backoff=Backoff(initial_seconds=1, factor=2, max_seconds=5, jitter=0),
        sleep=sleep,
    )
    return dispatcher, sleeps, outcomes


def test_outage_loses_nothing_and_keeps_order() -> None:
    """Four failed attempts back off 1, 2, 4, 5 s (capped); then all arrive in order, acked."""
    outbox = MemoryOutbox(_t(1), _t(2), _t(3))
    notifier = Flaky(failures=4)
    dispatcher, sleeps, outcomes = _dispatcher(outbox, notifier)
    assert asyncio.run(dispatcher.drain(notifier)) == 3
    assert notifier.delivered == ["id-1", "id-2", "id-3"]
    assert sleeps == [1, 2, 4, 5]
    assert outbox.entries == []
    assert outcomes.count("test:failed") == 4 * 3 and outcomes.count("test:sent") == 3


def test_partial_delivery_acks_what_arrived() -> None:
    """When the second of three fails, the first is acked and not sent again."""
    outbox = MemoryOutbox(_t(1), _t(2), _t(3))
    notifier = Flaky()
    original = notifier.deliver

    async def fail_second_once(transition: Transition) -> None:
        if transition.id == "id-2" and "id-2-failed" not in notifier.delivered:
            notifier.delivered.append("id-2-failed")
            raise DeliveryError("test: timeout")
        await original(transition)

    notifier.deliver = fail_second_once  # type: ignore[method-assign]
    dispatcher, _, outcomes = _dispatcher(outbox, notifier)
    asyncio.run(dispatcher.drain(notifier))
    assert notifier.delivered == ["id-1", "id-2-failed", "id-2", "id-3"]
    assert outcomes == ["test:sent", "test:failed", "test:failed", "test:sent", "test:sent"]


def test_permanent_refusal_is_dead_lettered_and_does_not_block() -> None:
    """A transition refused for good goes to the dead letters; the rest of the batch arrives."""
    outbox = MemoryOutbox(_t(1), _t(2), _t(3))
    notifier = FlakyBatch(refuse=frozenset({"id-2"}))
    dispatcher, _, outcomes = _dispatcher(outbox, notifier)
    asyncio.run(dispatcher.drain(notifier))
    assert notifier.delivered == ["id-1", "id-3"]
    assert [(e.transition.id, reason) for e, reason in outbox.dead] == [("id-2", "test: HTTP 400")]
    assert sorted(outcomes) == ["test:rejected", "test:sent", "test:sent"]


def test_batches_respect_max_batch() -> None:
    """A batch notifier receives at most `max_batch` transitions per request."""
    outbox = MemoryOutbox(*[_t(n) for n in range(5)])
    notifier = FlakyBatch()
    dispatcher, _, _ = _dispatcher(outbox, notifier)
    asyncio.run(dispatcher.drain(notifier))
    assert notifier.calls == 3 and len(notifier.delivered) == 5


def test_run_channel_delivers_then_stops_on_cancel() -> None:
    """The long-running loop delivers what is queued and exits cleanly when cancelled."""
    outbox = MemoryOutbox(_t(1), _t(2))
    notifier = Flaky(failures=1)
    dispatcher, _, _ = _dispatcher(outbox, notifier)

    async def scenario() -> None:
        task = asyncio.create_task(dispatcher.run_channel(notifier))
        for _ in range(100):
            await asyncio.sleep(0)
            if not outbox.entries:
                break
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert notifier.delivered == ["id-1", "id-2"]


@pytest.mark.parametrize(("attempt", "delay"), [(1, 0.5), (2, 1.0), (5, 8.0), (30, 60.0)])
def test_backoff_is_exponential_and_capped(attempt: int, delay: float) -> None:
    """Delays double from 0.5 s and stop at 60 s; jitter stays within ±10 %."""
    backoff = Backoff()
    assert backoff.delay(attempt, rand=lambda: 0.5) == delay
    assert delay * 0.9 <= backoff.delay(attempt, rand=lambda: 0.0) <= delay
    assert backoff.delay(attempt, rand=lambda: 1.0) <= min(60.0, delay * 1.1)


def _alertmanager(seen: list[httpx.Request], status: int = 200) -> AlertmanagerNotifier:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return AlertmanagerNotifier(
        "http://am.test:9093/", client, firing_ttl_seconds=300, clock=lambda: 1000.0
    )


def test_alertmanager_payload_for_firing_and_resolved() -> None:
    """Firing alerts end TTL past now; resolutions carry their end time; labels pass through."""
    seen: list[httpx.Request] = []
    notifier = _alertmanager(seen)
    asyncio.run(notifier.deliver_batch([_t(1), _t(2, "resolved")]))
    [request] = seen
    assert str(request.url) == "http://am.test:9093/api/v2/alerts"
    firing, resolved = json.loads(request.content)
    assert firing["labels"] == {
        "alertname": "InventoryStockout",
        "severity": "warning",
        "sku": "S1",
    }
    assert firing["annotations"]["summary"] == "s1"
    assert firing["startsAt"] == "1970-01-01T00:01:40.000Z"
    assert firing["endsAt"] == "1970-01-01T00:21:40.000Z"  # now 1000 s + 300 s
    assert firing["generatorURL"] == "http://g/d/kpimon-oncall"
    assert resolved["endsAt"] == "1970-01-01T00:03:20.000Z"  # 200 s


def test_alertmanager_resolution_in_the_future_is_clamped_to_now() -> None:
    """A resolution whose event time is ahead of the wall clock is sent as ending now."""
    seen: list[httpx.Request] = []
    notifier = _alertmanager(seen)
    late = replace(_t(1, "resolved"), ends_at=5000.0, at=5000.0)
    asyncio.run(notifier.deliver(late))
    assert json.loads(seen[0].content)[0]["endsAt"] == "1970-01-01T00:16:40.000Z"  # 1000 s


def test_alertmanager_resend_posts_every_firing_state() -> None:
    """The re-send posts each firing state (not pending ones) with a fresh endsAt."""
    seen: list[httpx.Request] = []
    notifier = _alertmanager(seen)
    state = AlertState(
        key="k", rule_id="r", status="firing", partition="DC1",
        labels={"alertname": "InventoryStockout", "severity": "critical"},
        annotations={"summary": "x"}, active_since=10.0, last_observed_at=10.0,
    )  # fmt: skip
    pending = replace(state, key="k2", status="pending")
    asyncio.run(notifier.resend([state, pending]))
    [alert] = json.loads(seen[0].content)
    assert alert["labels"]["severity"] == "critical"
    assert alert["endsAt"] == "1970-01-01T00:21:40.000Z"


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (503, False)])
def test_alertmanager_errors_classify(status: int, permanent: bool) -> None:
    """A 400 is refused for good; a 503 is retried."""
    notifier = _alertmanager([], status=status)
    with pytest.raises(DeliveryError) as error:
        asyncio.run(notifier.deliver(_t(1)))
    assert error.value.permanent is permanent


def test_kafka_topic_event_per_state_change() -> None:
    """Each transition becomes one JSON event keyed by fingerprint."""
    sent: list[tuple[bytes, bytes]] = []

    async def send(key: bytes, value: bytes) -> None:
        sent.append((key, value))

    asyncio.run(KafkaTopicNotifier(send).deliver(_t(7, "resolved")))
    [(key, value)] = sent
    event = json.loads(value)
    assert key == b"fp7"
    assert event["event_type"] == "alert.resolved" and event["event_id"] == "id-7"
    assert event["occurred_at"] == "1970-01-01T00:02:30.000Z"
    assert event["ends_at"] == "1970-01-01T00:03:20.000Z"
    assert event["labels"]["sku"] == "S7"


class SwallowingOutbox(MemoryOutbox):
    """An outbox whose idle wait swallows the first cancellation, as a blocking read may."""

    swallowed = 0

    async def wait(self, channel: str, timeout: float) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            self.swallowed += 1
            if self.swallowed > 1:  # let the test's own teardown end the loop
                raise


def test_run_channel_stops_even_when_a_wait_swallows_the_cancellation() -> None:
    """A stop cancels the channel loop even when the idle wait swallowed the cancellation:
    the loop checks its pending cancellation at every turn instead of polling for ever."""
    outbox = SwallowingOutbox()
    notifier = Flaky(failures=0)
    dispatcher, _, _ = _dispatcher(outbox, notifier)

    async def scenario() -> None:
        task = asyncio.create_task(dispatcher.run_channel(notifier))
        await asyncio.sleep(0.01)  # now idle in the wait
        task.cancel()
        await asyncio.wait({task}, timeout=5)
        assert task.done(), "the channel loop went on after its cancellation was swallowed"
        assert task.cancelled()
        assert outbox.swallowed == 1

    asyncio.run(scenario())
