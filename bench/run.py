"""The benchmark: plain aiokafka consume-and-decode vs the worker, side by side.

Steps (each bounded in count and time, loopback only):
1. `deploy/stack.sh up-infra` (unless --no-infra); own topic prefix, group and Redis prefix.
2. Write a backlog of realistic events while no worker runs.
3. Baseline: a plain aiokafka consumer reads exactly those messages and
   `orjson.loads` each one; rate between 10% and 90% of them.
4. The real worker (`python -m streams.cli.main worker`) starts on the backlog;
   its rate between 10% and 90% processed, from the Redis counters the exporter
   serves as `kpimon_events_total` (cross-checked against the exporter at the end).
5. Latency: events stamped `occurred_at=now`, paced at half the worker's rate;
   the k-th event counted in Redis vs the k-th sent (and the worker's own
   `kpimon_event_lag_seconds` histogram).
6. Exporter scrape time at the label cardinality cap (the backlog spans more
   locations than `max_locations`).
7. Redis memory per SKU-location at two sizes (INFO memory delta / count),
   written through the worker's own batch apply (`RedisKpiStore.apply_batch`).
The last line printed is the throughput ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from bench.events import Record, generate, live_adjustment, location_code, sku_code

REPO = Path(__file__).resolve().parents[1]
KPIMON = [sys.executable, "-m", "streams.cli.main"]
PARTITIONS = 4


@dataclass
class Options:
    events: int
    locations: int
    skus: int
    latency_seconds: float
    memory_sizes: tuple[int, ...]
    kafka: str
    redis_url: str
    infra: bool
    timeout: float
    profile: str | None
    scrapes: int
    worker_source: Path | None
    worker_env: dict[str, str] = field(default_factory=dict)


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes (< 60 s)")
    parser.add_argument("--events", type=int, help="backlog size (default 120000)")
    parser.add_argument("--locations", type=int, help="locations (default 600, > the cap 500)")
    parser.add_argument("--skus", type=int, help="SKUs per location (default 100)")
    parser.add_argument("--latency-seconds", type=float, help="paced phase length (default 15)")
    parser.add_argument(
        "--memory-sizes", help="SKU-location counts for the memory figure (default 10000,100000)"
    )
    parser.add_argument("--kafka", default=os.environ.get("KPIMON_BENCH_KAFKA", "127.0.0.1:9092"))
    parser.add_argument(
        "--redis", default=os.environ.get("KPIMON_BENCH_REDIS", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--no-infra", action="store_true", help="do not run stack.sh up-infra")
    parser.add_argument("--timeout", type=float, help="longest wait for the backlog (s)")
    parser.add_argument(
        "--profile", help="py-spy record the worker into this file (collapsed stacks)"
    )
    parser.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment of the worker (repeatable), e.g. KPIMON_WORKER__BATCH_SIZE=5000",
    )
    parser.add_argument(
        "--worker-source",
        help="run the worker and exporter from this source tree (e.g. an exported older "
        "commit) to compare versions in one run",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    events = args.events or (12_000 if quick else 120_000)
    memory = args.memory_sizes or ("1000,5000" if quick else "10000,100000")
    if not all(host_is_loopback(s) for s in (args.kafka, args.redis)):
        parser.error("the benchmark only targets loopback addresses")
    return Options(
        events=events,
        locations=args.locations or (520 if quick else 600),
        skus=args.skus or (10 if quick else 100),
        latency_seconds=args.latency_seconds or (3.0 if quick else 15.0),
        memory_sizes=tuple(int(x) for x in memory.split(",") if x),
        kafka=args.kafka,
        redis_url=args.redis,
        infra=not args.no_infra,
        timeout=args.timeout or (60.0 if quick else max(300.0, events / 500)),
        profile=args.profile,
        scrapes=2 if quick else 5,
        worker_source=Path(args.worker_source).resolve() if args.worker_source else None,
        worker_env=dict(item.split("=", 1) for item in args.worker_env),
    )


def host_is_loopback(address: str) -> bool:
    host = address.split("://")[-1].split("/")[0].rsplit(":", 1)[0]
    return host in ("127.0.0.1", "localhost", "::1", "[::1]")


def say(text: str) -> None:
    print(text, flush=True)


class Bench:
    def __init__(self, options: Options) -> None:
        self.o = options
        self.name = uuid.uuid4().hex[:8]
        self.topic_prefix = f"bench{self.name}."
        self.key_prefix = f"kpimon-bench-{self.name}:"
        self.dir = REPO / "var" / "bench" / self.name
        self.exporter_port = free_port()
        self.worker_port = free_port()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.redis = redis.Redis.from_url(options.redis_url)
        self.results: dict[str, Any] = {}

    # -- environment ---------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "KPIMON_KAFKA__BOOTSTRAP_SERVERS": self.o.kafka,
                "KPIMON_KAFKA__TOPIC_PREFIX": self.topic_prefix,
                "KPIMON_KAFKA__CONSUMER_GROUP": f"kpimon-bench-{self.name}",
                "KPIMON_KAFKA__PARTITIONS": str(PARTITIONS),
                "KPIMON_REDIS__URL": self.o.redis_url,
                "KPIMON_REDIS__KEY_PREFIX": self.key_prefix,
                "KPIMON_EXPORTER__PORT": str(self.exporter_port),
                "KPIMON_EXPORTER__CACHE_SECONDS": "0",
                "KPIMON_WORKER__METRICS_PORT": str(self.worker_port),
                "KPIMON_WORKER__DATA_DIR": str(self.dir / "worker-data"),
                "KPIMON_ALERTS__ALERTMANAGER_URL": "",
                "KPIMON_LOG_FORMAT": "json",
                "KPIMON_LOG_LEVEL": "WARNING",
            }
        )
        env.update(self.o.worker_env)
        if self.o.worker_source is not None:
            env["PYTHONPATH"] = str(self.o.worker_source)
        return env

    def topic(self, short: str) -> str:
        return self.topic_prefix + short

    def start(self, what: str) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        log = (self.dir / f"{what}.log").open("ab")
        self.processes[what] = subprocess.Popen(
            [*KPIMON, what],
            env=self.env,
            cwd=self.o.worker_source or REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        for what, process in list(self.processes.items()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
            del self.processes[what]

    def cleanup(self) -> None:
        self.stop()
        with contextlib.suppress(Exception):
            delete_keys(self.redis, self.key_prefix)
        with contextlib.suppress(Exception):
            from kafka.admin import KafkaAdminClient

            admin = KafkaAdminClient(bootstrap_servers=self.o.kafka, client_id="kpimon-bench")
            try:
                mine = [t for t in admin.list_topics() if t.startswith(self.topic_prefix)]
                if mine:
                    admin.delete_topics(mine)
            finally:
                admin.close()

    def processed(self) -> int:
        raw = self.redis.hgetall(f"{self.key_prefix}counters")
        return sum(int(v) for k, v in raw.items() if k.startswith(b"events_"))

    # -- phases --------------------------------------------------------------------------

    def run(self) -> int:
        o = self.o
        if o.infra:
            say("[bench] deploy/stack.sh up-infra")
            subprocess.run(
                ["bash", str(REPO / "deploy" / "stack.sh"), "up-infra"],
                cwd=REPO,
                check=True,
                stdout=subprocess.DEVNULL,
                timeout=900,
            )
        say(
            f"[bench] {o.events:,} events over {o.locations} locations x {o.skus} SKUs; "
            f"topics {self.topic_prefix}*, redis {self.key_prefix}*"
        )
        result = subprocess.run(
            [*KPIMON, "topics", "create"], env=self.env, cwd=REPO, capture_output=True, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(result.stderr.decode())
        now = time.time()
        started = time.monotonic()
        records = list(
            generate(o.events, o.locations, o.skus, now - 3 * 86400, now - 60, tag=self.name)
        )
        mean_bytes = sum(len(r.value) for r in records) / max(len(records), 1)
        asyncio.run(self.produce(records))
        say(
            f"[bench] backlog written: {len(records):,} messages, {mean_bytes:.0f} B mean, "
            f"{time.monotonic() - started:.1f}s"
        )

        baseline = asyncio.run(self.baseline(len(records)))
        say(f"[bench] aiokafka consume+orjson.loads: {baseline:,.0f} msg/s (10%..90%)")

        worker = self.worker_backlog(len(records))
        say(
            f"[bench] worker backlog: {worker:,.0f} ev/s (10%..90%); "
            f"{worker_batches(self.worker_port)}; "
            f"max consumer lag reported {self.max_lag:,}"
        )
        self.check_exporter(len(records))
        self.engine_trail(len(records))

        self.scrape_time()
        if o.latency_seconds > 0:
            asyncio.run(self.latency(worker / 2))
        self.stop()
        for size in o.memory_sizes:
            asyncio.run(self.memory(size))
        say(
            f"ratio {worker / baseline:.2f} "
            f"(worker {worker:,.0f} ev/s / aiokafka {baseline:,.0f} msg/s)"
        )
        return 0

    async def produce(self, records: list[Record]) -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(
            bootstrap_servers=self.o.kafka,
            linger_ms=20,
            max_batch_size=512 * 1024,
            acks=1,
            compression_type=None,
        )
        await producer.start()
        try:
            pending = []
            for record in records:
                pending.append(
                    await producer.send(self.topic(record.topic), record.value, key=record.key)
                )
                if len(pending) >= 20_000:
                    await asyncio.gather(*pending)
                    pending.clear()
            await asyncio.gather(*pending)
        finally:
            await producer.stop()

    async def baseline(self, expected: int) -> float:
        """A plain aiokafka consumer over exactly the backlog, decoding each value."""
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.o.kafka,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            partitions = [
                TopicPartition(self.topic(short), p)
                for short in ("orders", "shipments", "inventory")
                for p in range(PARTITIONS)
            ]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            seen = 0
            marks: dict[int, float] = {}
            deadline = time.monotonic() + self.o.timeout
            while seen < expected and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
                for messages in batches.values():
                    for message in messages:
                        orjson.loads(message.value)
                    seen += len(messages)
                now = time.monotonic()
                for mark in (10, 90):
                    if mark not in marks and seen >= expected * mark / 100:
                        marks[mark] = now
            if seen < expected:
                raise RuntimeError(f"baseline consumer saw {seen} of {expected} messages")
            return window_rate(expected, marks)
        finally:
            await consumer.stop()

    def worker_backlog(self, expected: int) -> float:
        self.start("worker")
        self.start("exporter")
        if self.o.profile:
            self.processes["py-spy"] = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "--format",
                    "raw",
                    "--rate",
                    "50",
                    "-o",
                    self.o.profile,
                    "-p",
                    str(self.processes["worker"].pid),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        marks: dict[int, float] = {}
        deadline = time.monotonic() + self.o.timeout
        done = 0
        self.max_lag = 0
        while time.monotonic() < deadline:
            done = self.processed()
            status = self.redis.get(f"{self.key_prefix}worker:status")
            if status:
                lag = sum(v for _t, _p, v in orjson.loads(status)["consumer_lag"])
                self.max_lag = max(self.max_lag, lag)
            now = time.monotonic()
            for mark in (10, 90):
                if mark not in marks and done >= expected * mark / 100:
                    marks[mark] = now
            if done >= expected:
                break
            if self.processes["worker"].poll() is not None:
                raise RuntimeError(f"worker exited; see {self.dir / 'worker.log'}")
            time.sleep(0.05)
        if "py-spy" in self.processes:
            spy = self.processes.pop("py-spy")
            spy.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(timeout=30)
        if done < expected:
            raise RuntimeError(f"worker processed {done} of {expected} in {self.o.timeout}s")
        return window_rate(expected, marks)

    def engine_trail(self, expected: int) -> None:
        """How long after the store took the backlog the KPI snapshot covered all of it.

        The KPI engine may run in its own process, one batch behind the store: this
        shows the store's rate (the ratio) is the engine's rate too.
        """
        started = time.monotonic()
        deadline = started + 120
        events = 0
        while time.monotonic() < deadline:
            raw = self.redis.get(f"{self.key_prefix}kpi:snapshot")
            events = int(orjson.loads(raw)["events"]) if raw else 0
            if events >= expected:
                break
            time.sleep(0.05)
        say(
            f"[bench] KPI snapshot of {events:,} events "
            f"{time.monotonic() - started:.1f}s after the store had the backlog"
        )
        if events < expected:
            raise RuntimeError("the KPI engine did not catch up with the store")

    def check_exporter(self, expected: int) -> None:
        """The exporter's kpimon_events_total must account for the whole backlog."""
        total = 0.0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                text = httpx.get(f"http://127.0.0.1:{self.exporter_port}/metrics", timeout=10).text
                total = sum(
                    s.value
                    for family in text_string_to_metric_families(text)
                    if family.name == "kpimon_events"
                    for s in family.samples
                    if s.name == "kpimon_events_total"
                )
                if total >= expected:
                    break
            time.sleep(0.25)
        say(f"[bench] exporter kpimon_events_total = {total:,.0f} (expected {expected:,})")
        if total < expected:
            raise RuntimeError("the exporter does not account for the backlog")

    def scrape_time(self) -> None:
        """Scrape the exporter (no cache) once the snapshot holds every location."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            raw = self.redis.get(f"{self.key_prefix}kpi:snapshot")
            if raw and int(orjson.loads(raw)["events"]) >= self.o.events:
                break
            time.sleep(0.2)
        url = f"http://127.0.0.1:{self.exporter_port}/metrics"
        times = []
        text = ""
        for _ in range(self.o.scrapes):
            started = time.perf_counter()
            text = httpx.get(url, timeout=30).text
            times.append(time.perf_counter() - started)
        series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        locations = {
            s.labels["location"]
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if "location" in s.labels
        }
        dropped = next(
            (
                s.value
                for family in text_string_to_metric_families(text)
                for s in family.samples
                if s.name == "kpimon_exporter_dropped_series"
            ),
            0.0,
        )
        say(
            f"[bench] exporter scrape at the cap: median {statistics.median(times) * 1000:.0f} ms, "
            f"max {max(times) * 1000:.0f} ms; {series:,} series, {len(locations)} locations "
            f"exported, {dropped:,.0f} series over the cap dropped, {len(text) / 1e6:.1f} MB"
        )

    async def latency(self, rate: float) -> None:
        """Paced live events at `rate`/s; when the k-th shows up in Redis vs when sent."""
        from aiokafka import AIOKafkaProducer

        client = aioredis.Redis.from_url(self.o.redis_url)
        producer = AIOKafkaProducer(bootstrap_servers=self.o.kafka, linger_ms=1, acks=1)
        await producer.start()
        lag_before = worker_lag_buckets(self.worker_port)
        base = self.processed()
        count = max(1, int(rate * self.o.latency_seconds))
        sent: list[float] = []
        seen: list[float] = []  # seen[k] = when the counters first covered k+1 events

        async def poll() -> None:
            deadline = time.monotonic() + self.o.latency_seconds + 60
            while len(seen) < count and time.monotonic() < deadline:
                raw = await client.hgetall(f"{self.key_prefix}counters")
                done = sum(int(v) for k, v in raw.items() if k.startswith(b"events_")) - base
                now = time.monotonic()
                while len(seen) < min(done, count):
                    seen.append(now)
                await asyncio.sleep(0.005)

        poller = asyncio.create_task(poll())
        try:
            started = time.monotonic()
            for i in range(count):
                target = started + i / rate
                delay = target - time.monotonic()
                if delay > 0.002:
                    await asyncio.sleep(delay)
                location = location_code(i % self.o.locations)
                record = live_adjustment(
                    i, location, sku_code(i % self.o.skus), time.time(), self.name
                )
                sent.append(time.monotonic())
                await producer.send(self.topic(record.topic), record.value, key=record.key)
            await producer.flush()
            await poller
        finally:
            poller.cancel()
            await producer.stop()
            await client.aclose()
        lags = sorted(s - t for s, t in zip(seen, sent, strict=False))
        if len(lags) < count:
            say(f"[bench] latency: only {len(lags)} of {count} paced events arrived")
        if not lags:
            return
        p50, p99 = lags[len(lags) // 2], lags[min(len(lags) - 1, int(len(lags) * 0.99))]
        histogram = histogram_quantiles(lag_before, worker_lag_buckets(self.worker_port))
        say(
            f"[bench] latency at {rate:,.0f} ev/s ({count:,} events): event->Redis "
            f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; worker histogram "
            f"kpimon_event_lag_seconds p50 <= {histogram[0]}s, p99 <= {histogram[1]}s"
        )

    async def memory(self, size: int) -> None:
        """Redis bytes per SKU-location holding one snapshot, one order and one adjustment."""
        from streams.store.records import MessageRecord
        from streams.store.redis_store import RedisKpiStore

        prefix = f"{self.key_prefix}mem{size}:"
        client = aioredis.Redis.from_url(self.o.redis_url)
        store = RedisKpiStore(client, prefix, 40 * 86400)
        locations = max(1, min(self.o.locations, size // 10))
        per_location = -(-size // locations)
        now = time.time()
        before = int((await client.info("memory"))["used_memory"])
        offset = 0
        batch: list[MessageRecord] = []
        done = 0
        for loc in range(locations):
            for sku in range(per_location):
                if done >= size:
                    break
                done += 1
                for kind in range(3):
                    offset += 1
                    record = memory_record(kind, loc, sku, offset, now, self.name)
                    batch.append(record)
                if len(batch) >= 3000:
                    await store.apply_batch(batch)
                    batch = []
        if batch:
            await store.apply_batch(batch)
        after = int((await client.info("memory"))["used_memory"])
        await client.aclose()
        delete_keys(self.redis, prefix)
        say(
            f"[bench] redis memory at {size:,} SKU-locations ({locations} locations, 3 events "
            f"each): {(after - before) / size:,.0f} B per SKU-location "
            f"({(after - before) / 1e6:.1f} MB)"
        )


def memory_record(kind: int, loc: int, sku: int, offset: int, now: float, tag: str) -> Any:
    from streams.store.records import MessageRecord

    location, code = location_code(loc), sku_code(sku)
    t = now - 86400 + offset * 0.01
    event_id = f"{tag}-m{offset}"
    if kind == 0:
        body = {
            "event_id": event_id,
            "event_type": "inventory.snapshot",
            "occurred_at": iso_of(t),
            "sku": code,
            "location": location,
            "on_hand": 120.0,
            "on_order": 40.0,
            "in_transit": 0.0,
            "unit_cost": 12.5,
            "sku_class": "B",
            "supplier_id": "SUP001",
        }
        topic = "inventory"
    elif kind == 1:
        body = {
            "event_id": event_id,
            "event_type": "order.placed",
            "occurred_at": iso_of(t),
            "order_id": f"O{offset}",
            "location": location,
            "customer_id": "C1",
            "customer_tier": "standard",
            "channel": "web",
            "region": "north",
            "promised_at": iso_of(t + 86400),
            "lines": [{"line_id": "1", "sku": code, "quantity": 2.0, "unit_price": 9.5}],
        }
        topic = "orders"
    else:
        body = {
            "event_id": event_id,
            "event_type": "inventory.adjusted",
            "occurred_at": iso_of(t),
            "sku": code,
            "location": location,
            "delta": -1.0,
            "reason": "cycle count",
        }
        topic = "inventory"
    return MessageRecord(topic, 0, offset, event_id, orjson.dumps(body), str(body["event_type"]))


def iso_of(t: float) -> str:
    from bench.events import iso

    return iso(t)


def window_rate(expected: int, marks: dict[int, float]) -> float:
    """Messages per second between the 10% and 90% marks."""
    span = marks[90] - marks[10]
    return expected * 0.8 / max(span, 1e-3)


def worker_lag_buckets(port: int) -> dict[float, float]:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    except httpx.HTTPError:
        return {}
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "kpimon_event_lag_seconds":
            for s in family.samples:
                if s.name.endswith("_bucket"):
                    buckets[float(s.labels["le"])] = s.value
    return buckets


def worker_batches(port: int) -> str:
    """How the worker batched and how long its snapshots took (its own /metrics)."""
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    except httpx.HTTPError:
        return "worker metrics unavailable"
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.endswith(("_count", "_sum")):
                values[s.name] = s.value
    batches = values.get("kpimon_worker_batch_messages_count", 0.0)
    messages = values.get("kpimon_worker_batch_messages_sum", 0.0)
    snapshots = values.get("kpimon_worker_snapshot_seconds_count", 0.0)
    snapshot_seconds = values.get("kpimon_worker_snapshot_seconds_sum", 0.0)
    return (
        f"{batches:,.0f} batches of {messages / max(batches, 1):,.0f} mean; "
        f"{snapshots:,.0f} snapshots, {snapshot_seconds / max(snapshots, 1):.3f}s mean"
    )


def histogram_quantiles(
    before: dict[float, float], after: dict[float, float]
) -> tuple[float | None, float | None]:
    """Upper bucket bounds of p50 and p99 of the observations between two scrapes."""
    delta = sorted((le, after[le] - before.get(le, 0.0)) for le in after)
    if not delta or delta[-1][1] <= 0:
        return None, None
    total = delta[-1][1]
    p50 = next(le for le, count in delta if count >= total * 0.5)
    p99 = next(le for le, count in delta if count >= total * 0.99)
    return p50, p99


def delete_keys(client: redis.Redis, prefix: str) -> None:
    batch = []
    for key in client.scan_iter(match=f"{prefix}*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def main(argv: list[str] | None = None) -> int:
    bench = Bench(parse_args(argv))
    try:
        return bench.run()
    finally:
        bench.cleanup()
