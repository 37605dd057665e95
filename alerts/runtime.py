"""Wiring for the worker: settings → rules, store, notifiers, dispatcher, re-sender.

alerts = AlertRuntime.from_settings(settings, redis_client, send=kafka_send,
                                    on_result=count_outcome)
await alerts.start()                      # loads states; starts delivery tasks
...per batch, after the engine took the fresh events:
await alerts.process(engine, touched_locations, dispatches)
...
await alerts.stop()
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

import httpx
import redis.asyncio as aioredis
import structlog

from alerts.dispatcher import Backoff, Dispatcher
from alerts.evaluator import Evaluation
from alerts.links import Links
from alerts.model import AlertState
from alerts.notifiers import Notifier
from alerts.notifiers.alertmanager import AlertmanagerNotifier, AlertmanagerResender
from alerts.notifiers.kafka_topic import KafkaTopicNotifier, Send
from alerts.notifiers.webhook import WebhookNotifier
from alerts.outcomes import OnResult
from alerts.pipeline import EngineSource, evaluate_engine
from alerts.rules import RuleSet, load_rules
from alerts.store import RedisAlertStore
from alerts.views import DispatchView
from streams.settings import AlertSettings, Settings

log = structlog.get_logger(__name__)

# Alertmanager keeps a firing alert this many re-send intervals without news.
FIRING_TTL_INTERVALS = 5


def links_from(settings: AlertSettings) -> Links:
    return Links(settings.dashboard_base_url, settings.runbook_base_url)


def build_notifiers(
    settings: AlertSettings, send: Send | None = None, client: httpx.AsyncClient | None = None
) -> list[Notifier]:
    """The configured channels: Alertmanager, the signed webhook, the `kpi-alerts` topic."""
    notifiers: list[Notifier] = []
    if settings.alertmanager_url:
        notifiers.append(
            AlertmanagerNotifier(
                settings.alertmanager_url,
                client,
                firing_ttl_seconds=FIRING_TTL_INTERVALS * settings.resend_interval_seconds,
            )
        )
    if settings.webhook_url:
        if settings.webhook_secret is None:
            raise ValueError("alerts.webhook_url is set but alerts.webhook_secret is not")
        notifiers.append(WebhookNotifier(settings.webhook_url, settings.webhook_secret, client))
    if send is not None:
        notifiers.append(KafkaTopicNotifier(send))
    return notifiers


class AlertRuntime:
    """Evaluates after each batch, commits atomically, delivers in the background."""

    def __init__(
        self,
        rules: RuleSet,
        links: Links,
        store: RedisAlertStore,
        notifiers: Sequence[Notifier],
        *,
        on_result: OnResult | None = None,
        resend_interval_seconds: float = 60.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.rules = rules
        self.links = links
        self.store = store
        self.notifiers = list(notifiers)
        self.states: dict[str, AlertState] = {}
        self.dispatcher = Dispatcher(store, self.notifiers, on_result=on_result, backoff=backoff)
        self._resender: AlertmanagerResender | None = None
        for notifier in self.notifiers:
            if isinstance(notifier, AlertmanagerNotifier):
                self._resender = AlertmanagerResender(
                    store, notifier, resend_interval_seconds, on_result
                )
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        client: aioredis.Redis,
        send: Send | None = None,
        on_result: OnResult | None = None,
    ) -> AlertRuntime:
        """Load rules (failing loudly on a bad file) and build every part from settings."""
        rules = load_rules(settings.alerts.rules_file)
        rules.check_windows(settings.kpi.windows)
        notifiers = build_notifiers(settings.alerts, send)
        store = RedisAlertStore(
            client, [n.channel for n in notifiers], prefix=settings.redis.key_prefix
        )
        return cls(
            rules,
            links_from(settings.alerts),
            store,
            notifiers,
            on_result=on_result,
            resend_interval_seconds=settings.alerts.resend_interval_seconds,
        )

    async def start(self, deliver: bool = True) -> None:
        """Load the stored states; with `deliver`, start the dispatcher and the re-sender."""
        self.states = await self.store.load_states()
        log.info("alert states loaded", states=len(self.states), rules=len(self.rules.active))
        if deliver and not self._tasks:
            self._tasks.append(asyncio.create_task(self.dispatcher.run(), name="alerts-dispatch"))
            if self._resender is not None:
                self._tasks.append(asyncio.create_task(self._resender.run(), name="alerts-resend"))

    async def process(
        self,
        source: EngineSource,
        locations: Iterable[str],
        dispatches: Iterable[DispatchView] = (),
    ) -> Evaluation:
        """Evaluate the touched locations and the disruptions; commit; keep the new states.

        If the commit raises, the in-memory states are left as they were, so the
        retried batch evaluates (and queues) the same transitions again.
        """
        result = evaluate_engine(self.rules, source, self.states, locations, self.links, dispatches)
        await self.store.commit(result.changes, result.transitions)
        self.states = result.states
        return result

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass  # what cancel() asked for
            except Exception:  # a delivery loop that had failed: say so, keep stopping
                log.exception("alert delivery task failed before the stop")
        self._tasks.clear()
        for notifier in self.notifiers:
            close = getattr(notifier, "aclose", None)
            if close is not None:
                await close()
