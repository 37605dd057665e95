"""The faust-streaming application: batches of the six input topics, stored, then computed.

Faust owns consumption, group membership, rebalancing and offset commits; whole
fetched batches (or the agent's batches) go to `IngestPipeline`, retried while
Redis or the broker is unavailable (the stream pauses, nothing is skipped), then
to the KPI side (`streams.worker.kpi.side`). Timers write the worker status, the
KPI snapshot and prune old state.

A worker that cannot make progress says so and exits rather than retrying in
silence: a batch refused for longer than `worker.max_stall_seconds`, the same
non-transient error a few times in a row, or a KPI process that keeps dying is a
`streams.retry.Fatal`; the runtime logs it as critical, marks the batch as not
applied (its offsets are not committed) and asks the entry point to stop the
worker (`on_fatal`), which exits with the error's status.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import faust
import orjson
import structlog
from redis.exceptions import RedisError

from alerts.rules import load_rules
from streams.events.limits import Limits
from streams.kafka.client import faust_credentials
from streams.kafka.topics import TopicNames, dead_letter_max_message_bytes
from streams.retry import EXIT_SOFTWARE, Fatal, describe, retry
from streams.settings import Settings
from streams.store.redis_store import store_from
from streams.worker import metrics
from streams.worker.dead_letters import Headers, KafkaDeadLetters
from streams.worker.faults import worker_verdict
from streams.worker.faust_bulk import BulkApp
from streams.worker.heap import HeapGuard
from streams.worker.kpi.process import KpiProcess
from streams.worker.kpi.runtime import KpiRuntime
from streams.worker.kpi.schedule import Backlog
from streams.worker.kpi.side import KpiSide, LocalKpis
from streams.worker.kpi.sink import PrometheusSink
from streams.worker.messages import Classified, Consumed, RawMessage
from streams.worker.pipeline import IngestPipeline

log = structlog.get_logger(__name__)


class WorkerRuntime:
    """The ingest side, built once from settings: validate, dead-letter, store, hand on.

    Every applied batch goes to the KPI side (`streams.worker.kpi.side`): in a
    process of its own by default (`KPIMON_WORKER__KPI_PROCESS`), so storing the
    next batch and computing from the last one use two cores.
    """

    def __init__(self, settings: Settings, app: faust.App) -> None:
        self.settings = settings
        self.app = app
        self.names = TopicNames(settings.kafka.topic_prefix)
        self.store = store_from(settings)
        self.dead_letters = KafkaDeadLetters(
            self.names.dlq, self._send, dead_letter_max_message_bytes(settings.kafka)
        )
        self.pipeline = IngestPipeline(
            self.store,
            self.dead_letters,
            self.names,
            Limits.from_settings(settings),
            dedup=self.store.dedup,
        )
        # Held from a batch's apply to its hand-over to the KPI side (see KpiProcess).
        self._batch_lock = asyncio.Lock()
        self.kpis: KpiSide
        if settings.worker.kpi_process:
            load_rules(settings.alerts.rules_file).check_windows(settings.kpi.windows)  # fail now
            self.kpis = KpiProcess(settings, self._batch_lock)
        else:
            runtime = KpiRuntime(settings, self.store, PrometheusSink(), self._send_alert)
            self.kpis = LocalKpis(runtime)
        self._loaded = asyncio.Event()
        self._load_lock = asyncio.Lock()
        self.heap = HeapGuard()
        self._batch_size = settings.worker.batch_size
        self.backlog = Backlog(self._batch_size)
        self._stall_seconds = settings.worker.max_stall_seconds
        # Set by the entry point: stop the worker (see streams.cli.worker).
        self.on_fatal: Callable[[Fatal], None] | None = None
        self.fatal: Fatal | None = None  # why the worker is exiting, once it is

    def fail(self, error: Fatal) -> None:
        """Give up: log it as critical once and ask the entry point to stop the worker."""
        if self.fatal is not None:
            return
        self.fatal = error
        log.critical(
            "the worker cannot make progress and exits",
            reason=str(error),
            exit_code=error.exit_code,
            cause=describe(error.__cause__) if error.__cause__ else None,
        )
        if self.on_fatal is not None:
            self.on_fatal(error)

    def _unexpected(self, error: Exception, during: str) -> Fatal:
        """A bug (an error no retry can cure) as the Fatal that stops the worker."""
        log.error(f"unexpected error during {during}", exc_info=error)
        fatal = Fatal(f"{during}: unexpected {describe(error)}", EXIT_SOFTWARE)
        fatal.__cause__ = error
        return fatal

    async def _send(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers
    ) -> Awaitable[Any]:
        return await self.app.producer.send(
            topic, key, value, partition=None, timestamp=None, headers=headers
        )

    async def _send_alert(self, key: bytes, value: bytes) -> None:
        await self.app.producer.send_and_wait(
            self.names.alerts, key, value, partition=None, timestamp=None, headers=None
        )

    async def load(self) -> None:
        """Start the KPI side (rebuilt from Redis) once, before the first batch.

        Raises `Fatal` (after `fail`) when Redis stays down past the stall bound or
        the KPI process cannot be started.
        """
        if self._loaded.is_set():
            return
        async with self._load_lock:  # two callers (the startup task, the first batch)
            if not self._loaded.is_set():
                try:
                    await self._load()
                except Fatal as error:
                    self.fail(error)
                    raise

    async def _load(self) -> None:
        async def positions() -> None:
            await self.pipeline.start()  # store layout, conflicts a crash left pending
            for (topic, partition), offset in (await self.store.applied_offsets()).items():
                self.pipeline.positions[(self.names.full(topic), partition)] = offset

        await retry(
            positions,
            what="redis unavailable at start",
            verdict=worker_verdict,
            stall_seconds=self._stall_seconds,
        )
        async with self._batch_lock:
            await self.kpis.start()
        self._loaded.set()

    def classify(self, messages: Sequence[Consumed]) -> Classified:
        """Validate a batch ahead of `handle` (pure; see streams.worker.bulk).

        Validation rejects bad input, it never raises; if it does (a bug), the worker
        cannot get past the batch: `Fatal`, after `fail`.
        """
        try:
            return self.pipeline.classify(messages)
        except Exception as error:
            fatal = self._unexpected(error, "validating a batch")
            self.fail(fatal)
            raise fatal from error

    async def handle(
        self, messages: Sequence[Consumed], classified: Classified | None = None
    ) -> None:
        """Process one batch, retrying with back-off until Redis and the broker take it.

        `classified` is `self.classify(messages)` when the caller validated it already.
        Transient failures (Redis or the broker away, a send timing out) are retried
        for up to `worker.max_stall_seconds`; past that, or on an error no retry cures,
        this raises `Fatal` after `fail`: the batch is not applied, the worker stops.
        """
        await self.load()
        if classified is None:
            classified = self.classify(messages)
        try:
            await self._handle(messages, classified)
        except Fatal as error:
            self.fail(error)
            raise
        except Exception as error:
            fatal = self._unexpected(error, "a batch")
            self.fail(fatal)
            raise fatal from error
        self.heap.after_batch()

    async def _handle(self, messages: Sequence[Consumed], classified: Classified) -> None:
        failures: list[BaseException] = []
        async with self._batch_lock:
            result = await retry(
                lambda: self.pipeline.process(messages, classified),
                what="batch not stored",
                verdict=worker_verdict,
                stall_seconds=self._stall_seconds,
                on_failure=failures.append,
            )
            failed = bool(failures)
            metrics.BATCH_SIZE.observe(len(messages))
            self.backlog.after_batch(len(messages))
            if failed:
                # Redis may have applied the batch before the failure reached us; the
                # retry then skips it as a redelivery and reports nothing new. Rebuild
                # the KPI side from what Redis holds, so it cannot miss those events.
                await self.kpis.reload()
            else:
                await self.kpis.feed(result.payloads, result.entry, time.time(), self.catching_up())

    def catching_up(self) -> bool:
        """Behind on a backlog (`Backlog.behind`: the last batch full, or lag)."""
        return self.backlog.behind(sum(self.consumer_lag().values()))

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
        try:
            await self.kpis.tick(sum(lag.values()))
        except Fatal as error:  # the KPI process keeps dying
            self.fail(error)

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
        """Let the engine forget what its windows no longer see (streams.core.pruning).

        Redis needs no timer: the event log is trimmed after each checkpoint of the
        KPI state and the dedup hashes expire by themselves (streams.store).
        """
        if self._loaded.is_set():
            await self.kpis.prune()

    async def stop(self) -> None:
        """The worker is stopping: end the KPI side, waiting a bounded time for it."""
        if isinstance(self.kpis, KpiProcess):
            await self.kpis.stop()
        elif isinstance(self.kpis, LocalKpis):
            await self.kpis.runtime.stop()


def build_app(settings: Settings) -> tuple[faust.App, WorkerRuntime]:
    """The faust app and its runtime; the entry point sets `runtime.on_fatal`."""
    kafka = settings.kafka
    settings.worker.data_dir.mkdir(parents=True, exist_ok=True)
    bulk = settings.worker.bulk_consume
    app_class = BulkApp if bulk else faust.App
    app = app_class(
        kafka.consumer_group,
        broker=[f"kafka://{server}" for server in kafka.bootstrap_servers.split(",")],
        broker_credentials=faust_credentials(kafka),
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
        # The producer sends dead letters (and alerts): as large as the dead-letter topic
        # takes, and a send the broker does not acknowledge in time fails and is retried
        # (faust's default waits 20 minutes, far past the worker's stall bound).
        producer_max_request_size=dead_letter_max_message_bytes(kafka),
        producer_request_timeout=settings.worker.send_timeout_seconds,
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
        assert isinstance(app, BulkApp)
        app.runtime = runtime
        # No agent: the conductor subscribes the consumer to the input topics and the
        # Fetcher's drain (see streams.worker.bulk) hands whole batches to the runtime.
        app.topics.add(source)
        # BulkApp loads the KPI side and runs the snapshot tick from its start, before
        # the consumer group has formed (a restart is served sooner).
        app.tick_seconds = settings.kpi.snapshot_interval_seconds
    else:
        _add_stream_agent(app, source, runtime, settings)

        @app.timer(settings.kpi.snapshot_interval_seconds)
        async def snapshot() -> None:
            await runtime.write_snapshot()

    @app.timer(300.0)
    async def prune() -> None:
        await runtime.prune()

    async def stop_kpi_side(app: Any, *args: Any, **kwargs: Any) -> None:
        # After the consumer stopped (and committed what Redis holds).
        await runtime.stop()

    # mode's SignalHandlerT does not admit a coroutine function to mypy; it calls one.
    app.on_before_shutdown.connect(stop_kpi_side)  # type: ignore[arg-type]

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
