"""Input topics of different partition counts are refused by `kpimon topics` and the worker."""

from __future__ import annotations

from pathlib import Path

import pytest
from kafka.admin import KafkaAdminClient, NewTopic

from tests.integration.conftest import LocalStack
from tests.integration.monitor import Monitor

pytestmark = pytest.mark.integration

LOCATION_KEYED = ("orders", "shipments", "inventory", "forecasts", "plans")


def a_monitor(local_stack: LocalStack, tmp_path: Path) -> Monitor:
    return Monitor(
        kafka_bootstrap=local_stack.kafka_bootstrap,
        redis_url=local_stack.redis_url,
        log_dir=tmp_path,
    )


def test_co_partitioned_topics_pass_the_check(local_stack: LocalStack, tmp_path: Path) -> None:
    """Topics made by `kpimon topics create` all have the configured count: exit 0."""
    monitor = a_monitor(local_stack, tmp_path)
    monitor.create_topics()
    result = monitor.kpimon("topics", "check")
    assert result.returncode == 0, result.stderr.decode()
    assert b"co-partitioned: 2 partitions each" in result.stdout


def test_a_topic_with_another_count_is_refused(local_stack: LocalStack, tmp_path: Path) -> None:
    """`plans` with 3 partitions beside 2: `topics check` exits 2 and the worker 78, naming it."""
    monitor = a_monitor(local_stack, tmp_path)
    admin = KafkaAdminClient(bootstrap_servers=local_stack.kafka_bootstrap)
    try:
        admin.create_topics(
            [
                NewTopic(
                    monitor.topic_prefix + name,
                    num_partitions=3 if name == "plans" else 2,
                    replication_factor=1,
                )
                for name in LOCATION_KEYED
            ]
        )
    finally:
        admin.close()

    check = monitor.kpimon("topics", "check")
    assert check.returncode == 2
    assert b"not co-partitioned" in check.stderr and b"plans=3" in check.stderr

    worker = monitor.kpimon("worker", timeout=60)
    assert worker.returncode == 78, worker.stderr.decode()[-2000:]
    output = worker.stdout + worker.stderr
    assert b"worker refuses to start" in output and b"plans=3" in output
