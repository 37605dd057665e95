"""The faust-streaming application: one batching agent over the six input topics.

Faust owns consumption, group membership, rebalancing and offset commits; the
agent hands raw message batches to `IngestPipeline` and retries a batch while
Redis or the broker is unavailable (the stream pauses, nothing is skipped).
Timers write the KPI snapshot, the worker status and prune old state.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Any, cast

import faust
import orjson
import structlog
from redis.exceptions import RedisError

from alerts.pipeline import EngineSource
from alerts.runtime import AlertRuntime
from streams.core.engine import KpiEngine
from streams.core.windows import parse_duration
from streams.events.wire import Event, ShipmentDispatched
from streams.kafka.topics import TopicNames
from streams.settings import Settings
from streams.store.connection import async_client
from streams.store.keys import counter_field
from streams.store.redis_store import RedisKpiStore
from streams.worker import metrics
from streams.worker.bulk import install_bulk_drain
from streams.worker.dead_letters import Headers, KafkaDeadLetters
from streams.worker.heap import HeapGuard
from streams.worker.messages import Classified, Consumed, RawMessage
from streams.worker.pipeline import IngestPipeline
from streams.worker.schedule import BEHIND_BATCHES, compute_due
from streams.worker.snapshot import encode_snapshot
from streams.worker.steps import event_time_steps

log = structlog.get_logger(__name__)

RETRY_MAX_SECONDS = 30.0
# A batch is fed to the engine in steps of at least this much event time, with the
# alert rules evaluated between steps (at most ALERT_STEPS a batch), so a backlog or
# a file published at once pages as it happened: the projected stockout before the
# stockout. 900 s is the shortest minimum duration among the shipped rules.
ALERT_STEP_SECONDS = 900.0
ALERT_STEPS = 16
# ...but the evaluations between steps of one batch may take at most this long in
# all (each costs time proportional to the locations touched): with a large state,
# fewer and wider steps.
ALERT_STEPS_BUDGET_SECONDS = 1.0
# Locations recomputed between two looks at the event loop during a snapshot pass
# (one costs milliseconds per hundred SKUs).
RECOMPUTE_SLICE_LOCATIONS = 8


class RuntimeSnapshotError(Exception):
    """The engine failed to compute a snapshot (already logged)."""


def retention_seconds(settings: Settings) -> float:
    """How long stored events are kept: the longest window or the obsolete horizon."""
    longest = max(parse_duration(window) for window in settings.kpi.windows)
    return max(longest, settings.kpi.obsolete_after_days * 86400) + 86400


def _broker_credentials(settings: Settings) -> Any:
    kafka = settings.kafka
    context = None
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(
            cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None
        )
        if kafka.ssl_certfile:
            context.load_cert_chain(str(kafka.ssl_certfile), str(kafka.ssl_keyfile or ""))
    if kafka.sasl_mechanism:
        password = kafka.sasl_password.get_secret_value() if kafka.sasl_password else ""
        mechanism = kafka.sasl_mechanism
        if mechanism == "PLAIN":
            return faust.SASLCredentials(
                username=kafka.sasl_username, password=password, ssl_context=context
            )
        return faust.SASLCredentials(
            username=kafka.sasl_username,
            password=password,
            ssl_context=context,
            mechanism=mechanism,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


class WorkerRuntime:
    """Everything the agent and timers share, built once from settings."""

    def __init__(self, settings: Settings, app: faust.App) -> None:
        self.settings = settings
        self.app = app
        self.names = TopicNames(settings.kafka.topic_prefix)
        self.store = RedisKpiStore(
            async_client(settings.redis), settings.redis.key_prefix, retention_seconds(settings)
        )
        self.engine = KpiEngine(settings.kpi)
        self.pipeline = IngestPipeline(
            self.store,
            self.engine,
            KafkaDeadLetters(self.names.dlq, self._send),
            self.names,
            settings.kafka.max_message_bytes,
        )
        self.alerts = AlertRuntime.from_settings(
            settings, self.store.client, send=self._send_alert, on_result=self._count_alert
        )
        # Locations and dispatches not yet seen by the alert rules (evaluated on the timer).
        self._touched: set[str] = set()
        self._dispatches: list[ShipmentDispatched] = []
        self._loaded = asyncio.Event()
        self._load_lock = asyncio.Lock()
        self._dirty = True
        self.heap = HeapGuard()
        self._batch_size = settings.worker.batch_size
        # Monotonic end of the last snapshot + alert evaluation; starting the clock now
        # lets a worker that starts on a backlog ingest first (see schedule.compute_due).
        self._computed_at = time.monotonic()
        self._behind = False
        self._alert_cost = 0.0  # seconds the last alert evaluation took
        # Seconds to recompute one changed location (measured by each snapshot pass;
        # the first guess is a location of about a hundred SKUs).
        self._location_cost = 0.005
        self._compute_cost = 0.0  # seconds the last one took

    async def _send(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers
    ) -> Awaitable[Any]:
        return await self.app.producer.send(
            topic, key, value, partition=None, timestamp=None, headers=headers
        )

    async def _send_alert(self, key: bytes, value: bytes) -> None:
        await self.app.producer.send_and_wait(
            self.names.alerts, key, value, partition=None, timestamp=None, headers=None
        )

    async def _count_alert(self, channel: str, outcome: str) -> None:
        try:
            await self.store.increment_counter(counter_field("alerts_sent_total", channel, outcome))
        except (RedisError, OSError) as error:
            log.warning("alert outcome not counted", error=str(error))

    async def load(self) -> None:
        """Rebuild the engine from Redis once, before the first batch."""
        if self._loaded.is_set():
            return
        async with self._load_lock:  # two callers (the startup task, the first batch)
            if not self._loaded.is_set():
                await self._load()

    async def _load(self) -> None:
        delay = 0.5
        while True:
            try:
                await self.pipeline.rebuild()
                for (topic, partition), offset in (await self.store.applied_offsets()).items():
                    self.pipeline.positions[(self.names.full(topic), partition)] = offset
                await self.alerts.start()
                break
            except (RedisError, OSError) as error:
                log.warning("redis unavailable at start; retrying", error=str(error), delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
        self._loaded.set()

    def classify(self, messages: Sequence[Consumed]) -> Classified:
        """Validate a batch ahead of `handle` (pure; see streams.worker.bulk)."""
        return self.pipeline.classify(messages)

    async def handle(
        self, messages: Sequence[Consumed], classified: Classified | None = None
    ) -> None:
        """Process one batch, retrying with back-off until Redis and the broker take it.

        `classified` is `self.classify(messages)` when the caller validated it already.
        """
        await self.load()
        if classified is None:
            classified = self.pipeline.classify(messages)
        delay = 0.2
        failed = False
        while True:
            try:
                result = await self.pipeline.process(messages, classified)
                break
            except (TimeoutError, RedisError, OSError) as error:
                failed = True
                log.warning("batch failed; retrying", error=str(error), delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
        fresh = result.fresh
        now = time.time()
        if fresh:
            stamps = map(datetime.timestamp, [event.occurred_at for event in fresh])
            metrics.EVENT_LAG.observe_many([max(0.0, now - t) for t in stamps])
        metrics.BATCH_SIZE.observe(len(messages))
        # A full batch means more is waiting: the worker is catching up on a backlog.
        self._behind = len(messages) >= self._batch_size
        if failed:
            # Redis may have applied the batch before the failure reached us; the retry
            # then skips it as a redelivery and reports nothing new. Rebuild the engine
            # from what Redis holds, so it cannot miss those events.
            await self.reload_engine()
            self._touched.update(self.engine.locations())
        elif self.catching_up():
            # One step: alerts are evaluated on the snapshot timer while behind.
            self.pipeline.feed(fresh)
            self._note_for_alerts(fresh)
        else:
            steps = event_time_steps(fresh, ALERT_STEP_SECONDS, self._alert_steps(fresh))
            for number, step in enumerate(steps, start=1):
                self.pipeline.feed(step)
                self._note_for_alerts(step)
                if number < len(steps):
                    await self.evaluate_alerts()
        self.heap.after_batch()
        self._dirty = self._dirty or bool(fresh)

    def _alert_steps(self, events: Sequence[Event]) -> int:
        """How many event-time steps a batch may have, given what an evaluation costs.

        An evaluation recomputes every changed location first, so its cost is predicted
        from those (with what this batch touches) at the measured cost per location.
        """
        touched = {getattr(event, "location", None) for event in events}
        changed = len(self.engine.changed_locations()) + len(touched)
        per_pass = max(self._alert_cost, changed * self._location_cost)
        if per_pass <= 0:
            return ALERT_STEPS
        return max(1, min(ALERT_STEPS, int(ALERT_STEPS_BUDGET_SECONDS / per_pass) + 1))

    def catching_up(self) -> bool:
        """Behind on a backlog: the last batch was full or more than a batch is waiting."""
        lag = sum(self.consumer_lag().values())
        return self._behind or lag > BEHIND_BATCHES * self._batch_size

    def _note_for_alerts(self, events: Sequence[Event]) -> None:
        # Comprehensions, not one loop with branches: this runs over every event.
        locations = {getattr(event, "location", None) for event in events}
        locations.discard(None)
        self._touched.update(cast(set[str], locations))
        self._dispatches.extend(
            event for event in events if event.event_type == "shipment.dispatched"
        )
        if any(event.event_type.startswith("disruption.") for event in events):
            self._touched.update(self.engine.locations())

    async def reload_engine(self) -> None:
        """A new engine rebuilt from the event log in Redis (retrying while it is down)."""
        delay = 0.5
        while True:
            try:
                await self.pipeline.reload(KpiEngine(self.settings.kpi))
                break
            except (RedisError, OSError) as error:
                log.warning("engine reload failed; retrying", error=str(error), delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
        self.engine = self.pipeline.engine
        self._dirty = True

    async def write_snapshot(self) -> None:
        if not self._loaded.is_set():
            return
        lag = self.consumer_lag()
        for (topic, partition), value in lag.items():
            metrics.CONSUMER_LAG.labels(topic=topic, partition=str(partition)).set(value)
        status = {
            "heartbeat": time.time(),
            "consumer_lag": [[t, p, v] for (t, p), v in sorted(lag.items())],
        }
        try:
            await self.store.write_worker_status(orjson.dumps(status))
        except (RedisError, OSError) as error:
            log.warning("worker status not written", error=str(error))
        since = time.monotonic() - self._computed_at
        behind = sum(lag.values())
        if self._behind:  # a full last batch: behind even when the high watermark lags
            behind = max(behind, (BEHIND_BATCHES + 1) * self._batch_size)
        if not compute_due(since, self._compute_cost, behind, self._batch_size):
            return
        busy = 0.0  # seconds computing, not counting the ingestion interleaved
        try:
            if self._dirty:
                self._dirty = False
                fed = self.pipeline.events_fed
                busy += await self._recompute_in_slices()
                started = time.monotonic()
                samples = self.engine.as_computed().samples()
                # Every event fed before the pass is reflected; some fed during it may be.
                payload = encode_snapshot(time.time(), samples, fed)
                busy += time.monotonic() - started
                metrics.SNAPSHOT_SECONDS.observe(busy)
                await self.store.write_snapshot(payload)
                if self.engine.changed_locations():
                    self._dirty = True  # changed during the pass: the next one covers them
        except (RedisError, OSError) as error:
            self._dirty = True
            log.warning("snapshot not written", error=str(error))
        except RuntimeSnapshotError:
            self._dirty = True
        started = time.monotonic()
        await self.evaluate_alerts(self.engine.as_computed())
        self.heap.after_batch()  # the figures just computed are long-lived too
        self._computed_at = time.monotonic()
        self._compute_cost = busy + (self._computed_at - started)

    async def _recompute_in_slices(self) -> float:
        """Recompute the changed locations a slice at a time, letting batches in between.

        Returns the seconds spent computing. An engine bug is logged and raised as
        RuntimeSnapshotError (no snapshot is written).
        """
        codes = self.engine.changed_locations()
        busy = 0.0
        for first in range(0, len(codes), RECOMPUTE_SLICE_LOCATIONS):
            started = time.monotonic()
            try:
                self.engine.refresh(codes[first : first + RECOMPUTE_SLICE_LOCATIONS])
            except Exception:
                log.exception("KPI recompute failed")
                raise RuntimeSnapshotError from None
            busy += time.monotonic() - started
            await asyncio.sleep(0)
        if codes:
            self._location_cost = busy / len(codes)
        return busy

    async def evaluate_alerts(self, source: EngineSource | None = None) -> None:
        """Run the alert rules over what changed since the last evaluation, then commit.

        `source` defaults to the engine (recomputing what changed); the snapshot pass
        passes the figures it just computed.
        """
        if not (self._touched or self._dispatches):
            return
        touched, dispatches = self._touched, self._dispatches
        self._touched, self._dispatches = set(), []
        started = time.monotonic()
        try:
            evaluation = await self.alerts.process(
                source or self.engine, sorted(touched), dispatches
            )
            self._alert_cost = time.monotonic() - started
        except (RedisError, OSError) as error:
            # Nothing was committed: evaluate the same changes again on the next tick.
            self._touched |= touched
            self._dispatches = dispatches + self._dispatches
            log.warning("alert evaluation not committed", error=str(error))
            return
        except Exception:
            # A bug in a rule must not stop the stream; the KPIs keep flowing.
            log.exception("alert evaluation failed", locations=len(touched))
            return
        if source is not None:
            # Locations changed after `source` was computed were judged on their previous
            # figures: look at them again next time.
            self._touched |= touched.intersection(self.engine.changed_locations())
        for transition in evaluation.transitions:
            log.info(
                "alert state change",
                alertname=transition.labels.get("alertname"),
                status=transition.status,
                labels=transition.labels,
            )

    def consumer_lag(self) -> dict[tuple[str, int], int]:
        """Messages behind the high watermark per assigned partition (unprefixed topic)."""
        lag: dict[tuple[str, int], int] = {}
        consumer = self.app.consumer
        inputs = set(self.names.inputs)
        for tp in consumer.assignment():
            if tp.topic not in inputs:
                continue
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            position = self.pipeline.positions.get((tp.topic, tp.partition))
            next_offset = 0 if position is None else position + 1
            lag[(self.names.short(tp.topic), tp.partition)] = max(0, highwater - next_offset)
        return lag

    async def prune(self) -> None:
        """Drop state behind the retention horizon: the event log in Redis, the engine."""
        if not self._loaded.is_set():
            return
        try:
            # The log is kept by ingest time; the engine forgets by each location's
            # event-time watermark (streams.core.pruning).
            await self.store.prune(time.time() - retention_seconds(self.settings))
        except (RedisError, OSError) as error:
            log.warning("prune skipped", error=str(error))
        self.engine.prune()


class _BulkApp(faust.App):
    """A faust app whose consumer hands whole fetched batches to the runtime."""

    runtime: WorkerRuntime | None = None

    def _new_consumer(self) -> Any:
        consumer = super()._new_consumer()
        runtime = self.runtime
        if runtime is not None:
            install_bulk_drain(consumer, runtime)
        return consumer


def build_app(settings: Settings) -> tuple[faust.App, WorkerRuntime]:
    kafka = settings.kafka
    settings.worker.data_dir.mkdir(parents=True, exist_ok=True)
    bulk = settings.worker.bulk_consume
    app_class = _BulkApp if bulk else faust.App
    app = app_class(
        kafka.consumer_group,
        broker=[f"kafka://{server}" for server in kafka.bootstrap_servers.split(",")],
        broker_credentials=_broker_credentials(settings),
        value_serializer="raw",
        key_serializer="raw",
        topic_partitions=kafka.partitions,
        topic_replication_factor=kafka.replication_factor,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        datadir=str(settings.worker.data_dir),
        stream_buffer_maxsize=max(4096, settings.worker.batch_size * 2),
        # One fetch can fill a whole batch (aiokafka's default stops at 500 records).
        broker_max_poll_records=max(500, settings.worker.batch_size),
        broker_commit_every=settings.worker.batch_size,
        broker_commit_interval=1.0,
        # A SIGKILLed worker holds its partitions until the session times out; keep that short.
        broker_session_timeout=kafka.session_timeout_seconds,
        broker_heartbeat_interval=max(1.0, kafka.session_timeout_seconds / 4),
        producer_max_request_size=max(kafka.max_message_bytes * 2, 1 << 20),
        consumer_max_fetch_size=max(kafka.max_message_bytes * 2, 4 << 20),
        logging_config=None,
    )
    runtime = WorkerRuntime(settings, app)
    source = app.topic(
        *runtime.names.inputs,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
    )

    if bulk:
        assert isinstance(app, _BulkApp)
        app.runtime = runtime
        # No agent: the conductor subscribes the consumer to the input topics and the
        # Fetcher's drain (see streams.worker.bulk) hands whole batches to the runtime.
        app.topics.add(source)

        @app.task
        async def load() -> None:
            await runtime.load()
    else:
        _add_stream_agent(app, source, runtime, settings)

    @app.timer(settings.kpi.snapshot_interval_seconds)
    async def snapshot() -> None:
        await runtime.write_snapshot()

    @app.timer(300.0)
    async def prune() -> None:
        await runtime.prune()

    return app, runtime


def _add_stream_agent(
    app: faust.App, source: faust.TopicT, runtime: WorkerRuntime, settings: Settings
) -> None:
    @app.agent(source, concurrency=1)
    async def ingest(stream: faust.StreamT[bytes]) -> None:
        await runtime.load()
        # take_events is faust-streaming's batching API; its stubs lag behind.
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.worker.batch_size, within=settings.worker.batch_timeout_seconds
        ):
            messages = [
                RawMessage(
                    event.message.topic,
                    event.message.partition,
                    event.message.offset,
                    event.message.key,
                    event.message.value,
                )
                for event in events
            ]
            await runtime.handle(messages)
