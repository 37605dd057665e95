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

With `--history 30d` (`--density N` events per SKU-location per day, default 10)
the state is first filled with that much history for the run's SKU-locations
(`--locations` x `--skus`) through the real worker, measured (memory per
SKU-location, per order line, per event id; `--growth N` adjustments: bytes per
added event), and the timed phases run on top of it; a restart after SIGKILL is
timed at the end. See `bench.capacity` and `bench.history`, and docs/CAPACITY.md.
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import redis
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from bench.capacity import StatePhases
from bench.events import Record, generate, live_adjustment, location_code, sku_code
from bench.history import DAY, GROWTH_DAYS, Timeline, parse_days
from bench.produce import produce

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
    history_days: float = 0.0  # 0: no history phase
    density: float = 10.0  # history events per SKU-location per day
    order_probe: int = 0  # orders of the order probe (history runs)
    growth: int = 0  # adjustments of the growth probe (history runs)
    parts: int = 1  # processes producing the history
    restart: bool = False  # time a restart after SIGKILL at the end
    profile_fill: str | None = None
    min_available_gb: float = 2.0  # stop the run when the machine has less memory free


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="reduced sizes (< 60 s)")
    parser.add_argument("--events", type=int, help="backlog size (default 120000)")
    parser.add_argument("--locations", type=int, help="locations (default 600, > the cap 200)")
    parser.add_argument("--skus", type=int, help="SKUs per location (default 100)")
    parser.add_argument(
        "--sku-locations",
        type=int,
        help="SKU-locations in all: sets --locations to this / --skus (default 100 SKUs)",
    )
    parser.add_argument(
        "--history",
        help="fill the state with this much history first, e.g. 30d or 7d (default none; "
        "7d with --growth), through the worker; then memory figures and a restart",
    )
    parser.add_argument(
        "--density", type=float, help="history events per SKU-location per day (default 10)"
    )
    parser.add_argument(
        "--growth",
        type=int,
        help="inventory adjustments of the growth probe, on the existing SKU-locations in "
        "closed buckets: bytes per added event (default 200000 with --history; 20000 --quick)",
    )
    parser.add_argument(
        "--order-probe",
        type=int,
        help="orders of 2 lines in the order probe: bytes per order line (default "
        "SKU-locations / 2, 2000..100000; 0 skips it)",
    )
    parser.add_argument(
        "--producers", type=int, help="processes producing the history (default: CPUs, <= 4)"
    )
    parser.add_argument("--no-restart", action="store_true", help="skip the timed restart")
    parser.add_argument(
        "--profile-fill", help="py-spy record the worker while it takes the history (raw)"
    )
    parser.add_argument(
        "--min-available-gb",
        type=float,
        default=2.0,
        help="stop the run if the machine's available memory falls under this (default 2)",
    )
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
        "--profile",
        help="py-spy record the worker and its KPI process during the backlog into this file "
        "(raw: collapsed stacks)",
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
    history = args.history or ("7d" if args.growth else None)
    history_days = parse_days(history) if history else 0.0
    if history_days < 0 or history_days > 60:
        parser.error("--history: between 0 and 60 days (the dedup horizon is 30 by default)")
    memory = args.memory_sizes or ("" if history_days else "1000,5000" if quick else "10000,100000")
    if not all(host_is_loopback(s) for s in (args.kafka, args.redis)):
        parser.error("the benchmark only targets loopback addresses")
    skus = args.skus or (10 if quick else 100)
    locations = args.locations or (520 if quick else 600)
    if args.sku_locations:
        locations = max(1, -(-args.sku_locations // skus))
    sku_locations = locations * skus
    worker_env = dict(item.split("=", 1) for item in args.worker_env)
    if history_days and quick:
        # Checkpoints often enough that the phases settle in seconds.
        worker_env.setdefault("KPIMON_STATE__CHECKPOINT_INTERVAL_SECONDS", "3")
    if history_days:
        # The documented sizing of the dedup hashes: a day's events / 100 (settings.py).
        density = args.density or 10.0
        per_day = max(sku_locations * density, events / 2, (args.growth or 0) / GROWTH_DAYS)
        slots = min(1 << 20, max(4096, -(-int(per_day) // 100)))
        worker_env.setdefault("KPIMON_STATE__DEDUP_SLOTS", str(slots))
    order_probe = args.order_probe
    if order_probe is None:
        order_probe = 500 if quick else min(100_000, max(2_000, sku_locations // 2))
    return Options(
        events=events,
        locations=locations,
        skus=skus,
        latency_seconds=args.latency_seconds or (3.0 if quick else 15.0),
        memory_sizes=tuple(int(x) for x in memory.split(",") if x),
        kafka=args.kafka,
        redis_url=args.redis,
        infra=not args.no_infra,
        timeout=args.timeout or (60.0 if quick else max(300.0, events / 500)),
        profile=args.profile,
        scrapes=2 if quick else 5,
        worker_source=Path(args.worker_source).resolve() if args.worker_source else None,
        worker_env=worker_env,
        history_days=history_days,
        density=args.density or 10.0,
        order_probe=order_probe if history_days else 0,
        growth=(args.growth or (20_000 if quick else 200_000)) if history_days else 0,
        parts=args.producers or max(1, min(4, os.cpu_count() or 1)),
        restart=bool(history_days) and not args.no_restart,
        profile_fill=args.profile_fill,
        min_available_gb=args.min_available_gb,
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
        horizon = float(options.worker_env.get("KPIMON_STATE__DEDUP_HORIZON_SECONDS", 0)) / DAY
        self.timeline = Timeline.of(time.time(), options.history_days, max(30.0, horizon))
        self.sent = 0  # messages written to the input topics so far (all valid, unique)
        self.max_lag = 0
        self.state = StatePhases(self)

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

    def start(self, what: str, log_level: str | None = None) -> None:
        """Start `kpimon <what>`; `log_level` INFO lets the worker log its state figures."""
        self.dir.mkdir(parents=True, exist_ok=True)
        env = self.env
        if log_level:
            env["KPIMON_LOG_LEVEL"] = log_level
        with (self.dir / f"{what}.log").open("ab") as log:
            self.processes[what] = subprocess.Popen(
                [*KPIMON, what],
                env=env,
                cwd=self.o.worker_source or REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop_worker(self) -> None:
        """SIGTERM the worker (it stops its KPI process); kill it after 60 s."""
        process = self.processes.pop("worker", None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def check_worker(self) -> None:
        """The worker runs, and the machine has memory to spare (this host is shared)."""
        process = self.processes.get("worker")
        if process is None or process.poll() is not None:
            raise RuntimeError(f"worker not running; see {self.dir / 'worker.log'}")
        available = mem_available()
        if available is not None and available < self.o.min_available_gb * 1e9:
            raise RuntimeError(
                f"memory guard: {available / 1e9:.1f} GB available, under "
                f"--min-available-gb {self.o.min_available_gb:g}; stopping the run"
            )

    def log_size(self) -> int:
        path = self.dir / "worker.log"
        return path.stat().st_size if path.exists() else 0

    def log_records(self, since: int) -> Iterator[dict[str, Any]]:
        """The worker's JSON log records written after byte `since`."""
        path = self.dir / "worker.log"
        if not path.exists():
            return
        with path.open("rb") as log:
            log.seek(since)
            for line in log:
                if line.startswith(b"{"):
                    with contextlib.suppress(ValueError):
                        yield orjson.loads(line)

    def not_stored(self) -> str:
        """Messages handled but not stored (duplicate, invalid, too old), and the events the
        engine counted late (its snapshot), for a sanity line."""
        raw: Any = self.redis.hgetall(f"{self.key_prefix}counters")
        counts = {
            k.decode(): int(v)
            for k, v in raw.items()
            if k.startswith(b"events_") and not k.startswith(b"events_total|")
        }
        snapshot: Any = self.redis.get(f"{self.key_prefix}kpi:snapshot")
        late = orjson.loads(snapshot).get("late", {}) if snapshot else {}
        return f"not stored {counts or 'none'}; engine late {late or 'none'}"

    def snapshot_events(self) -> int:
        raw: Any = self.redis.get(f"{self.key_prefix}kpi:snapshot")
        return int(orjson.loads(raw)["events"]) if raw else 0

    def snapshot_generated_at(self) -> float | None:
        """`generated_at` of the KPI snapshot, read from its first bytes (it comes first)."""
        head: Any = self.redis.getrange(f"{self.key_prefix}kpi:snapshot", 0, 80)
        if not head:
            return None
        marker = b'"generated_at":'
        start = head.find(marker)
        if start < 0:
            return None
        start += len(marker)
        end = min(i for i in (head.find(b",", start), head.find(b"}", start), len(head)) if i >= 0)
        return float(head[start:end])

    def profile(self, path: str) -> subprocess.Popen[bytes]:
        """py-spy record the worker and its KPI process (raw collapsed stacks) until ended."""
        return subprocess.Popen(
            [
                str(Path(sys.executable).with_name("py-spy")),
                "record",
                "--format",
                "raw",
                "--rate",
                "50",
                "--subprocesses",
                "-o",
                path,
                "-p",
                str(self.processes["worker"].pid),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def end_profile(self, spy: subprocess.Popen[bytes]) -> None:
        spy.send_signal(signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            spy.wait(timeout=30)

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
                group = f"kpimon-bench-{self.name}"  # faust's assignor topic
                mine = [t for t in admin.list_topics() if t.startswith((self.topic_prefix, group))]
                if mine:
                    admin.delete_topics(mine)
            finally:
                admin.close()

    def processed(self) -> int:
        """Messages the worker has handled: stored, rejected, duplicate or late."""
        raw: Any = self.redis.hgetall(f"{self.key_prefix}counters")
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
            + (f"; worker env {o.worker_env}" if o.worker_env else "")
        )
        result = subprocess.run(
            [*KPIMON, "topics", "create"], env=self.env, cwd=REPO, capture_output=True, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(result.stderr.decode())
        if o.history_days:
            self.state.fill()
        now = time.time()
        start = self.timeline.backlog_start if o.history_days else now - 3 * 86400
        started = time.monotonic()
        records = list(generate(o.events, o.locations, o.skus, start, now - 60, tag=self.name))
        mean_bytes = sum(len(r.value) for r in records) / max(len(records), 1)
        positions = asyncio.run(self.end_offsets())
        asyncio.run(self.produce(records))
        self.sent += len(records)
        say(
            f"[bench] backlog written: {len(records):,} messages, {mean_bytes:.0f} B mean, "
            f"{(now - 60 - start) / DAY:.1f} days of event time, "
            f"{time.monotonic() - started:.1f}s"
        )

        baseline = asyncio.run(self.baseline(len(records), positions))
        say(f"[bench] aiokafka consume+orjson.loads: {baseline:,.0f} msg/s (10%..90%)")

        worker = self.worker_backlog(len(records))
        say(
            f"[bench] worker backlog: {worker:,.0f} ev/s (10%..90%); "
            f"{worker_batches(self.worker_port)}; "
            f"max consumer lag reported {self.max_lag:,}"
            + (f"; state before it: {self.sent - len(records):,} events" if o.history_days else "")
        )
        self.check_exporter(self.sent)
        self.engine_trail(self.sent)

        self.scrape_time()
        if o.latency_seconds > 0:
            asyncio.run(self.latency(worker / 2))
        if o.restart:
            self.state.restart()
        self.stop()
        for size in o.memory_sizes:
            asyncio.run(self.memory(size))
        if self.state.growth_bytes is not None:
            redis_bytes, process_bytes = self.state.growth_bytes
            say(
                f"[bench] issue 14 check: per added adjustment Redis {redis_bytes:,.0f} B, "
                f"processes {process_bytes:,.0f} B (target <= 48 B each); "
                f"throughput ratio with that state {worker / baseline:.2f} (target >= 0.7)"
            )
        say(
            f"ratio {worker / baseline:.2f} "
            f"(worker {worker:,.0f} ev/s / aiokafka {baseline:,.0f} msg/s)"
        )
        return 0

    async def end_offsets(self) -> dict[tuple[str, int], int]:
        """Where the input partitions end now: the baseline reads from there."""
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(bootstrap_servers=self.o.kafka, group_id=None)
        await consumer.start()
        try:
            partitions = [
                TopicPartition(self.topic(short), p)
                for short in ("orders", "shipments", "inventory")
                for p in range(PARTITIONS)
            ]
            ends = await consumer.end_offsets(partitions)
            return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}
        finally:
            await consumer.stop()

    async def produce(self, records: list[Record]) -> None:
        await produce(self.o.kafka, self.topic_prefix, records)

    async def baseline(self, expected: int, positions: dict[tuple[str, int], int]) -> float:
        """A plain aiokafka consumer over exactly the backlog (from `positions`), decoding
        each value."""
        from aiokafka import AIOKafkaConsumer, TopicPartition

        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.o.kafka,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            partitions = [TopicPartition(topic, p) for topic, p in positions]
            consumer.assign(partitions)
            for tp in partitions:
                consumer.seek(tp, positions[(tp.topic, tp.partition)])
            seen = 0
            marks: dict[int, float] = {}
            deadline = time.monotonic() + self.o.timeout
            while seen < expected and time.monotonic() < deadline:
                batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
                for messages in batches.values():
                    for message in messages:
                        orjson.loads(message.value)  # type: ignore[arg-type]
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
        """The worker's rate over the backlog (it restores any state it has first)."""
        base = self.processed()
        self.start("worker")
        self.start("exporter")
        spy = self.profile(self.o.profile) if self.o.profile else None
        try:
            rate, _took = self.wait_processed(expected, base, self.o.timeout)
        finally:
            if spy is not None:
                self.end_profile(spy)
        return rate

    def wait_processed(self, expected: int, base: int, timeout: float) -> tuple[float, float]:
        """Until the running worker handled `expected` messages more than `base`.

        Returns its rate between the 10% and 90% marks and the seconds from the first
        message handled to the last.
        """
        marks: dict[int, float] = {}
        deadline = time.monotonic() + timeout
        done = 0
        first: float | None = None
        while time.monotonic() < deadline:
            done = self.processed() - base
            status: Any = self.redis.get(f"{self.key_prefix}worker:status")
            if status:
                lag = sum(v for _t, _p, v in orjson.loads(status)["consumer_lag"])
                self.max_lag = max(self.max_lag, lag)
            now = time.monotonic()
            if first is None and done > 0:
                first = now
            for mark in (10, 90):
                if mark not in marks and done >= expected * mark / 100:
                    marks[mark] = now
            if done >= expected:
                break
            self.check_worker()
            time.sleep(0.05)
        if done < expected:
            raise RuntimeError(f"worker processed {done} of {expected} in {timeout:.0f}s")
        return window_rate(expected, marks), time.monotonic() - (first or time.monotonic())

    def engine_trail(self, expected: int) -> None:
        """How long after the store took the backlog the KPI snapshot covered all of it.

        The KPI engine may run in its own process, one batch behind the store: this
        shows the store's rate (the ratio) is the engine's rate too.
        """
        started = time.monotonic()
        deadline = started + 120
        events = 0
        while time.monotonic() < deadline:
            events = self.snapshot_events()
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
            say(f"[bench] {self.not_stored()}")
        if total < expected:
            raise RuntimeError("the exporter does not account for the backlog")

    def scrape_time(self) -> None:
        """Scrape the exporter (no cache) once the snapshot holds every location."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.snapshot_events() >= self.sent:
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
                raw: Any = await client.hgetall(f"{self.key_prefix}counters")
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
        store = RedisKpiStore(client, prefix)
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
    return MessageRecord(
        topic, 0, offset, event_id, orjson.dumps(body), str(body["event_type"]), day=int(t // 86400)
    )


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


def mem_available() -> int | None:
    """MemAvailable of /proc/meminfo in bytes (None where there is none)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _interrupted(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; SIGTERM or SIGINT (even when a background shell ignored it)
    stop it with the cleanup: its worker, exporter, Redis keys and topics go."""
    bench = Bench(parse_args(argv))
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _interrupted)
    try:
        return bench.run()
    finally:
        bench.cleanup()
