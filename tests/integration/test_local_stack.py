"""The local stack answers for real: each service is exercised through its own protocol."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import redis
import yaml
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from tests.integration.conftest import REPO_ROOT, LocalStack


def test_kafka_round_trip(local_stack: LocalStack) -> None:
    """A message produced to a fresh topic is consumed back, key and value intact, by a group."""
    topic = f"kpimon-stack-selftest-{uuid.uuid4().hex[:12]}"
    admin = KafkaAdminClient(bootstrap_servers=local_stack.kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        producer = KafkaProducer(bootstrap_servers=local_stack.kafka_bootstrap, acks="all")
        producer.send(topic, key=b"DC-1", value=b'{"hello": "kafka"}').get(timeout=30)
        producer.close()

        consumer = KafkaConsumer(
            topic,
            bootstrap_servers=local_stack.kafka_bootstrap,
            group_id=f"{topic}-group",
            auto_offset_reset="earliest",
            consumer_timeout_ms=30_000,
        )
        try:
            received = next(iter(consumer))
            consumer.commit()
        finally:
            consumer.close()
        assert (received.key, received.value) == (b"DC-1", b'{"hello": "kafka"}')
    finally:
        admin.delete_topics([topic])
        admin.close()


def test_redis_round_trip_with_fsynced_aof(local_stack: LocalStack) -> None:
    """Redis stores and returns a value, with the append-only file fsynced on every write."""
    client = redis.Redis.from_url(local_stack.redis_url, decode_responses=True)
    key = f"kpimon:stack-selftest:{uuid.uuid4().hex}"
    try:
        assert client.set(key, "42", ex=60)
        assert client.get(key) == "42"
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("appendfsync") == {"appendfsync": "always"}
    finally:
        client.delete(key)
        client.close()


def test_prometheus_serves_the_stack_config(local_stack: LocalStack) -> None:
    """Prometheus is ready and runs the stack's config: 5s scrapes of the monitor's jobs."""
    response = httpx.get(f"{local_stack.prometheus_url}/api/v1/status/config", timeout=10)
    response.raise_for_status()
    body = response.json()
    assert body["status"] == "success"
    config = yaml.safe_load(body["data"]["yaml"])
    assert config["global"]["scrape_interval"] == "5s"
    jobs = {job["job_name"] for job in config["scrape_configs"]}
    assert {"prometheus", "kpimon-exporter", "kpimon-worker"} <= jobs
    assert config["rule_files"] == [str(REPO_ROOT / "alerts" / "prometheus" / "*.yml")]
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == [local_stack.alertmanager_url.removeprefix("http://")]


def test_alertmanager_status(local_stack: LocalStack) -> None:
    """Alertmanager answers its v2 API with clustering disabled and our routing loaded."""
    response = httpx.get(f"{local_stack.alertmanager_url}/api/v2/status", timeout=10)
    response.raise_for_status()
    status = response.json()
    assert status["cluster"]["status"] == "disabled"
    config = yaml.safe_load(status["config"]["original"])
    assert config["route"]["receiver"] in {r["name"] for r in config["receivers"]}


def test_stack_configs_pass_the_official_checkers(local_stack: LocalStack) -> None:
    """The committed Prometheus configs (with any rules) and the Alertmanager config validate."""
    checks = [
        ["promtool", "check", "config", "deploy/prometheus/prometheus.yml"],
        ["promtool", "check", "config", "deploy/compose/prometheus.yml"],
        ["promtool", "check", "config", str(local_stack.stack_dir / "prometheus/prometheus.yml")],
        ["amtool", "check-config", "alerts/alertmanager.yml"],
    ]
    for command in checks:
        result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{' '.join(command)}\n{result.stdout}{result.stderr}"


def test_stack_status_reports_infra_healthy(local_stack: LocalStack) -> None:
    """`stack.sh status` sees the infra services it started as healthy."""
    result = subprocess.run(
        ["bash", str(Path(REPO_ROOT, "deploy", "stack.sh")), "status"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    states = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:]}
    for service in ("kafka", "redis", "prometheus", "alertmanager"):
        assert states.get(service) == "healthy", result.stdout


def test_prometheus_scrapes_targets_registered_by_tests(local_stack: LocalStack) -> None:
    """A target registered with `LocalStack.scraped` is discovered and scraped, then dropped."""
    # Prometheus's own metrics under another address: a real target that is surely up.
    target = local_stack.prometheus_url.replace("127.0.0.1", "localhost").removeprefix("http://")

    def health() -> str | None:
        response = httpx.get(f"{local_stack.prometheus_url}/api/v1/targets", timeout=10)
        for active in response.json()["data"]["activeTargets"]:
            if active["labels"]["instance"] == target:
                return str(active["health"])
        return None

    def wait(predicate: Callable[[], bool], what: str, timeout: float = 45.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.5)

    with local_stack.scraped("prometheus", target, labels={"test": "selftest"}):
        wait(lambda: health() == "up", f"{target} to be scraped")
    wait(lambda: health() is None, f"{target} to be dropped")
