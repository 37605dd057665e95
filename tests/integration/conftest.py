"""Integration tests run against the real local stack (deploy/stack.sh), never mocks.

The session fixture `local_stack` runs `deploy/stack.sh up-infra`, which starts Kafka,
Redis, Prometheus and Alertmanager when they are not already running and healthy (so a
stack left running by `make up` or a previous test run is reused), and waits for them.
The stack stays up after the session; `make down` stops it. Every test in this directory
is marked `integration`.

The stack's location and ports follow the same variables as stack.sh:
KPIMON_STACK_DIR and KPIMON_STACK_{KAFKA,REDIS,PROMETHEUS,ALERTMANAGER}_PORT.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

# The fixtures that run the real worker and exporter, on top of `local_stack`.
from tests.integration.fixtures import monitor_factory as monitor_factory

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_SH = REPO_ROOT / "deploy" / "stack.sh"
UP_TIMEOUT_SECONDS = 900  # a first run may apt-get install and resolve the Kafka jars


@dataclass(frozen=True)
class LocalStack:
    """Where the running local stack answers."""

    kafka_bootstrap: str
    redis_url: str
    prometheus_url: str
    alertmanager_url: str
    stack_dir: Path

    @contextmanager
    def scraped(
        self, job: str, target: str, labels: dict[str, str] | None = None
    ) -> Iterator[None]:
        """Have the stack's Prometheus scrape `target` ("127.0.0.1:PORT") under `job`
        (`kpimon-exporter`, `kpimon-worker` or `prometheus`) while inside the block.

        Prometheus re-reads the target files every few seconds; wait for the target with
        `/api/v1/targets` (or for its series) before asserting on data.
        """
        directory = self.stack_dir / "prometheus" / "targets" / job
        if not directory.is_dir():
            raise ValueError(f"no file discovery for job {job!r} (no {directory})")
        path = directory / f"test-{uuid.uuid4().hex}.json"
        entry = {"targets": [target], "labels": labels or {}}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([entry]))
        tmp.rename(path)  # atomic: Prometheus never reads a half-written file
        try:
            yield
        finally:
            path.unlink(missing_ok=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.integration)


def _port(name: str, default: int) -> int:
    return int(os.environ.get(f"KPIMON_STACK_{name}_PORT", default))


def _stack_dir() -> Path:
    return (REPO_ROOT / os.environ.get("KPIMON_STACK_DIR", "var")).resolve()


def _log_tails(stack_dir: Path, lines: int = 30) -> str:
    parts = []
    for log in sorted((stack_dir / "log").glob("*.log")):
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        parts.append(f"----- {log} (last {len(tail)} lines) -----\n" + "\n".join(tail))
    return "\n".join(parts) or f"(no logs under {stack_dir / 'log'})"


def _wait_for_port(port: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2):
                return True
        except OSError:
            time.sleep(0.25)
    return False


@pytest.fixture(scope="session")
def local_stack() -> LocalStack:
    """Kafka, Redis, Prometheus and Alertmanager of the local stack, up and healthy."""
    stack_dir = _stack_dir()
    command = ["bash", str(STACK_SH), "up-infra"]
    try:
        result = subprocess.run(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, "KPIMON_STACK_DIR": str(stack_dir)},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=UP_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        output = "".join(
            part.decode(errors="replace") if isinstance(part, bytes) else part
            for part in (error.stdout or "", error.stderr or "")
        )
        pytest.fail(
            f"`{' '.join(command)}` did not finish in {UP_TIMEOUT_SECONDS}s\n"
            f"{output}\n{_log_tails(stack_dir)}",
            pytrace=False,
        )
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join(command)}` failed with exit {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}\n"
            f"{_log_tails(stack_dir)}",
            pytrace=False,
        )

    kafka, redis, prometheus, alertmanager = (
        _port("KAFKA", 9092),
        _port("REDIS", 6379),
        _port("PROMETHEUS", 9090),
        _port("ALERTMANAGER", 9093),
    )
    closed = [port for port in (kafka, redis, prometheus, alertmanager) if not _wait_for_port(port)]
    if closed:
        pytest.fail(
            f"stack.sh reported the stack healthy but ports {closed} do not accept "
            f"connections\n{_log_tails(stack_dir)}",
            pytrace=False,
        )
    return LocalStack(
        kafka_bootstrap=f"127.0.0.1:{kafka}",
        redis_url=f"redis://127.0.0.1:{redis}/0",
        prometheus_url=f"http://127.0.0.1:{prometheus}",
        alertmanager_url=f"http://127.0.0.1:{alertmanager}",
        stack_dir=stack_dir,
    )


@pytest.fixture
def key_prefix(local_stack: LocalStack) -> Iterator[str]:
    """A Redis key prefix of this test only; its keys are deleted afterwards."""
    prefix = f"kpimon-test-{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(local_stack.redis_url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    for first in range(0, len(keys), 1000):  # DEL takes any count; keep commands bounded
        client.delete(*keys[first : first + 1000])
    client.close()
