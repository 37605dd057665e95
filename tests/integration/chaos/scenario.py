"""One chaos run: a simulator log streams through the real worker while things get killed.

Shared by the reduced test (tests/integration/chaos/) and `make chaos` (deploy/chaos.py).
The run's worker writes to a private Redis (AOF, appendfsync always) that is SIGKILLed and
restarted; optionally the run also uses a private Kafka broker that is SIGKILLed and
restarted mid-stream. The worker itself is SIGKILLed at random points. At the end every
KPI served must equal a clean single pass of the same log exactly and the batch reference.
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from streams.settings import KpiSettings
from tests.integration.chaos.services import PrivateKafka, PrivateRedis
from tests.integration.kpi_logs import Series, kpi_series, simulator_log
from tests.integration.monitor import KPIMON, REPO, Monitor, wait_for
from tests.reference.batch_kpis import compare, compute, load_jsonl, parse_exposition


def _safe(call: object, default: int = -1) -> int:
    try:
        return int(call())  # type: ignore[operator]
    except Exception:
        return default


def stored(monitor: Monitor) -> int:
    """Distinct events stored (events_total counters)."""
    return sum(v for k, v in monitor.counters().items() if k.startswith("events_total"))


def duplicates(monitor: Monitor) -> int:
    return sum(v for k, v in monitor.counters().items() if k.startswith("events_duplicate_total"))


def start_exporter(monitor: Monitor) -> None:
    monitor.start("exporter")
    wait_for(
        lambda: httpx.get(f"http://127.0.0.1:{monitor.exporter_port}/metrics").status_code == 200,
        timeout=60,
        what="the exporter",
    )


def wait_status(monitor: Monitor, timeout: float = 120) -> None:
    key = f"{monitor.key_prefix}worker:status"
    wait_for(lambda: monitor.redis().get(key), timeout, what="the worker's first status")


def clean_pass(kafka: str, redis_url: str, log: Path, work: Path) -> Series:
    """KPIs of one undisturbed pass of `log` (its own topics and Redis prefix)."""
    monitor = Monitor(kafka_bootstrap=kafka, redis_url=redis_url, log_dir=work / "clean")
    try:
        monitor.create_topics()
        monitor.start("worker")
        start_exporter(monitor)
        result = monitor.kpimon("publish", str(log), timeout=300)
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        total = len(load_jsonl(log))
        monitor.wait_processed(total, timeout=300)
        monitor.wait_snapshot_of(total, timeout=120)
        return kpi_series(monitor)
    finally:
        monitor.stop()


class Streamer:
    """`kpimon publish -` fed the log at `rate` lines/s from a thread: the log streams in."""

    def __init__(self, monitor: Monitor, log: Path, rate: float) -> None:
        self.process = subprocess.Popen(
            [*KPIMON, "publish", "-"],
            env=monitor.env,
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=(monitor.log_dir / "publish.log").open("ab"),
        )
        self._lines = [line for line in log.read_bytes().splitlines(keepends=True) if line.strip()]
        self._rate = rate
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._feed, daemon=True)
        self._thread.start()

    def _feed(self) -> None:
        stdin = self.process.stdin
        assert stdin is not None
        began = time.monotonic()
        try:
            for index in range(0, len(self._lines), 10):
                if self._stop.is_set():
                    return
                stdin.write(b"".join(self._lines[index : index + 10]))
                stdin.flush()
                pause = began + (index + 10) / self._rate - time.monotonic()
                if pause > 0:
                    self._stop.wait(pause)
        except (BrokenPipeError, OSError):
            return
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def poll(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout: float) -> None:
        self._thread.join(timeout)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=max(1.0, timeout))

    def kill(self) -> None:
        self._stop.set()
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self._thread.join(timeout=10)


@dataclass
class ChaosResult:
    seed: int
    events: int
    worker_kills: int = 0
    redis_kills: int = 0
    broker_restarts: int = 0
    publish_attempts: int = 0
    duplicates: int = 0
    clean_mismatches: list[str] = field(default_factory=list)
    reference_mismatches: list[str] = field(default_factory=list)
    seconds: float = 0.0
    log: list[str] = field(default_factory=list)

    @property
    def mismatches(self) -> int:
        return len(self.clean_mismatches) + len(self.reference_mismatches)


def _diff(expected: Series, served: Series) -> list[str]:
    out = []
    for key in sorted(set(expected) | set(served), key=str):
        if expected.get(key) != served.get(key):
            out.append(f"{key[0]}{dict(key[1])}: clean {expected.get(key)} chaos {served.get(key)}")
    return out


def run_chaos(
    *,
    seed: int,
    events: int,
    work: Path,
    kafka_bootstrap: str,
    clean_redis_url: str,
    worker_kills: int,
    redis_kills: int = 1,
    broker_restart: bool = False,
    clean: Series | None = None,
    stream_seconds: float = 20.0,
    timeout: float = 600,
) -> ChaosResult:
    """Stream the seed's log through a worker while killing it, Redis and maybe the broker."""
    began = time.monotonic()
    deadline = began + timeout
    rng = random.Random(seed)
    log = simulator_log(work / "logs", seed, events)
    total = len(load_jsonl(log))
    result = ChaosResult(seed=seed, events=total)
    if clean is None:
        clean = clean_pass(kafka_bootstrap, clean_redis_url, log, work / f"clean-{seed}")

    redis = PrivateRedis(work / f"redis-{seed}")
    redis.start()
    broker: PrivateKafka | None = None
    if broker_restart:
        broker = PrivateKafka(work / f"kafka-{seed}")
        broker.start()
        kafka_bootstrap = broker.bootstrap
    # Small batches so the kills land between and inside many batch applications.
    monitor = Monitor(
        kafka_bootstrap=kafka_bootstrap,
        redis_url=redis.url,
        log_dir=work / f"monitor-{seed}",
        extra_env={
            "KPIMON_WORKER__BATCH_SIZE": "20",
            "KPIMON_WORKER__BATCH_TIMEOUT_SECONDS": "0.05",
        },
    )
    publisher: Streamer | None = None
    try:
        monitor.create_topics()
        monitor.start("worker")
        wait_status(monitor)

        def publish() -> Streamer:
            result.publish_attempts += 1
            return Streamer(monitor, log, total / stream_seconds)

        publisher = publish()
        # (fraction of the log stored, action), in order of fraction.
        plan = [(rng.uniform(0.05, 0.9), "worker") for _ in range(worker_kills)]
        plan += [(rng.uniform(0.2, 0.8), "redis") for _ in range(redis_kills)]
        if broker is not None:
            plan.append((rng.uniform(0.3, 0.7), "broker"))
        plan.sort()
        for fraction, action in plan:
            target = int(total * fraction)
            while time.monotonic() < deadline and _safe(lambda: stored(monitor)) < target:
                time.sleep(0.01)
            if publisher.poll() not in (None, 0):
                # A broker restart can fail a publish; re-publishing is safe (event_id).
                publisher = publish()
            at = _safe(lambda: stored(monitor))
            if action == "worker":
                monitor.kill("worker", signal.SIGKILL)
                result.worker_kills += 1
                time.sleep(rng.uniform(0, 0.5))
                monitor.start("worker")
            elif action == "redis":
                redis.kill()
                result.redis_kills += 1
                time.sleep(rng.uniform(0.2, 1.5))
                redis.start()
            else:
                assert broker is not None
                broker.kill()
                result.broker_restarts += 1
                time.sleep(rng.uniform(0.2, 1.0))
                broker.start()
            result.log.append(f"{action} killed at {at}/{total} stored (planned {target})")
        while publisher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if publisher.poll() != 0:
            publisher = publish()
            publisher.wait(timeout=max(1.0, deadline - time.monotonic()))
        assert publisher.poll() == 0, (monitor.log_dir / "publish.log").read_text()[-2000:]
        # The worker must have ridden out the Redis and broker outages by itself.
        worker = monitor.processes.get("worker")
        assert worker is not None and worker.poll() is None, (
            "worker died:\n" + monitor.log_text("worker")[-3000:]
        )
        wait_for(
            lambda: stored(monitor) >= total,
            timeout=max(1.0, deadline - time.monotonic()),
            what=f"{total} events stored",
        )
        monitor.wait_snapshot_of(total, timeout=max(1.0, deadline - time.monotonic()))
        start_exporter(monitor)
        served_text = monitor.metrics_text()
        served = kpi_series(monitor)
        result.duplicates = duplicates(monitor)
        assert stored(monitor) == total
        result.clean_mismatches = _diff(clean, served)
        result.reference_mismatches = compare(
            compute(load_jsonl(log), KpiSettings()), parse_exposition(served_text)
        )
    except BaseException:
        result.log.append("worker log tail:\n" + monitor.log_text("worker")[-3000:])
        raise
    finally:
        if publisher is not None:
            publisher.kill()
        monitor.stop()
        redis.stop()
        if broker is not None:
            broker.stop()
        result.seconds = time.monotonic() - began
    return result
