"""Run the real worker and exporter as processes against the real local stack.

Each `Monitor` gets its own topic prefix, consumer group, Redis key prefix and
ports, so tests do not see each other's data.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import redis

REPO = Path(__file__).resolve().parents[2]
KPIMON = [sys.executable, "-m", "streams.cli.main"]
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(
    check: Callable[[], T | None], timeout: float = 60.0, interval: float = 0.25, what: str = ""
) -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as error:  # a service still starting answers with errors
            last_error = error
        time.sleep(interval)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what} (last error: {last_error})"
    )


@dataclass
class Monitor:
    kafka_bootstrap: str
    redis_url: str
    log_dir: Path
    name: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    extra_env: dict[str, str] = field(default_factory=dict)
    exporter_port: int = field(default_factory=free_port)
    worker_port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def topic_prefix(self) -> str:
        return f"t{self.name}."

    @property
    def key_prefix(self) -> str:
        return f"kpimon-test-{self.name}:"

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "KPIMON_KAFKA__BOOTSTRAP_SERVERS": self.kafka_bootstrap,
                "KPIMON_KAFKA__TOPIC_PREFIX": self.topic_prefix,
                "KPIMON_KAFKA__CONSUMER_GROUP": f"kpimon-test-{self.name}",
                "KPIMON_KAFKA__PARTITIONS": "2",
                "KPIMON_REDIS__URL": self.redis_url,
                "KPIMON_REDIS__KEY_PREFIX": self.key_prefix,
                "KPIMON_EXPORTER__PORT": str(self.exporter_port),
                "KPIMON_EXPORTER__CACHE_SECONDS": "0",
                "KPIMON_WORKER__METRICS_PORT": str(self.worker_port),
                "KPIMON_WORKER__DATA_DIR": str(self.log_dir / f"worker-{self.name}"),
                "KPIMON_KPI__SNAPSHOT_INTERVAL_SECONDS": "0.5",
                # Checkpoints every few seconds: restarts in tests go through them.
                "KPIMON_STATE__CHECKPOINT_INTERVAL_SECONDS": "3",
                "KPIMON_ALERTS__ALERTMANAGER_URL": "",
                "KPIMON_LOG_FORMAT": "json",
            }
        )
        env.update(self.extra_env)
        return env

    def kpimon(self, *args: str, input: bytes | None = None, timeout: float = 120) -> Any:
        """Run a kpimon command to completion with this monitor's settings."""
        return subprocess.run(
            [*KPIMON, *args],
            env=self.env,
            cwd=REPO,
            input=input,
            capture_output=True,
            timeout=timeout,
            check=False,
        )

    def create_topics(self) -> None:
        result = self.kpimon("topics", "create")
        assert result.returncode == 0, result.stderr.decode()

    def start(self, what: str) -> None:
        """Start `worker` or `exporter` in the background, logging to the log dir."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{what}-{self.name}.log").open("ab")
        self.processes[what] = subprocess.Popen(
            [*KPIMON, what],
            env=self.env,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, what: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(what, None)
        if process is None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def stop(self) -> None:
        for what in list(self.processes):
            self.kill(what, signal.SIGTERM)

    def log_text(self, what: str) -> str:
        path = self.log_dir / f"{what}-{self.name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis_url)

    def counters(self) -> dict[str, int]:
        raw = self.redis().hgetall(f"{self.key_prefix}counters")
        return {k.decode(): int(v) for k, v in raw.items()}

    def metrics_text(self) -> str:
        response = httpx.get(f"http://127.0.0.1:{self.exporter_port}/metrics", timeout=10)
        response.raise_for_status()
        return response.text

    def processed(self) -> int:
        """Messages the worker has accounted for: stored, duplicate or rejected."""
        return sum(v for k, v in self.counters().items() if k.startswith("events_"))

    def wait_processed(self, count: int, timeout: float = 90) -> None:
        wait_for(lambda: self.processed() >= count, timeout, what=f"{count} messages processed")

    def wait_snapshot_of(self, events: int, timeout: float = 60) -> None:
        """Wait until the KPI snapshot reflects `events` distinct events."""

        def covered() -> bool:
            raw = self.redis().get(f"{self.key_prefix}kpi:snapshot")
            return bool(raw) and int(orjson.loads(raw)["events"]) >= events

        wait_for(covered, timeout, what=f"a KPI snapshot of {events} events")
