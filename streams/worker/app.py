"""The faust-streaming application: batches of the six input topics, stored, then computed.

Faust owns consumption, group membership, rebalancing and offset commits; whole
fetched batches (or the agent's batches) go to `IngestPipeline`, retried while
Redis or the broker is unavailable (the stream pauses, nothing is skipped), then
to the KPI side (`streams.worker.kpi_side`). Timers write the worker status, the
KPI snapshot and prune old state.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Sequence
from typing import Any

import faust
import orjson
import structlog
from redis.exceptions import RedisError

from alerts.rules import load_rules
from streams.kafka.topics import TopicNames
from streams.settings import Settings
from streams.store.connection import async_client
from streams.store.redis_store import RedisKpiStore
from streams.worker import metrics
from streams.worker.bulk import install_bulk_drain
from streams.worker.dead_letters import Headers, KafkaDeadLetters
from streams.worker.heap import HeapGuard
from streams.worker.kpi_process import KpiProcess
from streams.worker.kpi_runtime import KpiRuntime, retention_seconds
from streams.worker.kpi_side import KpiSide, LocalKpis
from streams.worker.messages import Classified, Consumed, RawMessage
from streams.worker.pipeline import IngestPipeline
from streams.worker.schedule import BEHIND_BATCHES

log = structlog.get_logger(__name__)

RETRY_MAX_SECONDS = 30.0


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
    """The ingest side, built once from settings: validate, dead-letter, store, hand on.

    Every applied batch goes to the KPI side (`streams.worker.kpi_side`): in a
    process of its own by default (`KPIMON_WORKER__KPI_PROCESS`), so storing the
    next batch and computing from the last one use two cores.
    """

    def __init__(self, settings: Settings, app: faust.App) -> None:
        self.settings = settings
        self.app = app
        self.names = TopicNames(settings.kafka.topic_prefix)
        self.store = RedisKpiStore(
            async_client(settings.redis), settings.redis.key_prefix, retention_seconds(settings)
        )
        self.pipeline = IngestPipeline(
            self.store,
            KafkaDeadLetters(self.names.dlq, self._send),
            self.names,
            settings.kafka.max_message_bytes,
        )
        # Held from a batch's apply to its hand-over to the KPI side (see KpiProcess).
        self._batch_lock = asyncio.Lock()
        self.kpis: KpiSide
        if settings.worker.kpi_process:
            load_rules(settings.alerts.rules_file).check_windows(settings.kpi.windows)  # fail now
            self.kpis = KpiProcess(settings, self._batch_lock)
        else:
            self.kpis = LocalKpis(KpiRuntime(settings, self.store, self._send_alert))
        self._loaded = asyncio.Event()
        self._load_lock = asyncio.Lock()
        self.heap = HeapGuard()
        self._batch_size = settings.worker.batch_size
        self._behind = False

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

    async def load(self) -> None:
        """Start the KPI side (rebuilt from Redis) once, before the first batch."""
        if self._loaded.is_set():
            return
        async with self._load_lock:  # two callers (the startup task, the first batch)
            if not self._loaded.is_set():
                await self._load()

    async def _load(self) -> None:
        delay = 0.5
        while True:
            try:
                for (topic, partition), offset in (await self.store.applied_offsets()).items():
                    self.pipeline.positions[(self.names.full(topic), partition)] = offset
                break
            except (RedisError, OSError) as error:
                log.warning("redis unavailable at start; retrying", error=str(error), delay=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
        async with self._batch_lock:
            await self.kpis.start()
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
        async with self._batch_lock:
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
            metrics.BATCH_SIZE.observe(len(messages))
            # A full batch means more is waiting: the worker is catching up on a backlog.
            self._behind = len(messages) >= self._batch_size
            if failed:
                # Redis may have applied the batch before the failure reached us; the
                # retry then skips it as a redelivery and reports nothing new. Rebuild
                # the KPI side from what Redis holds, so it cannot miss those events.
                await self.kpis.reload()
            else:
                await self.kpis.feed(result.fresh, result.payloads, time.time(), self.catching_up())
        self.heap.after_batch()

    def catching_up(self) -> bool:
        """Behind on a backlog: the last batch was full or more than a batch is waiting."""
        lag = sum(self.consumer_lag().values())
        return self._behind or lag > BEHIND_BATCHES * self._batch_size

    async def write_snapshot(self) -> None:
        """The snapshot timer: the worker status, then the KPI side's snapshot and alerts."""
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
        # The KPI side also counts itself behind while it is fed backlog batches.
        await self.kpis.tick(sum(lag.values()))

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
        await self.kpis.prune()


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
