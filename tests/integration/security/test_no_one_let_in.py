"""No one let in, no secret let out.

A private Kafka broker listening SASL_SSL only (SCRAM-SHA-512 users created at format time,
self-signed CA made with openssl, PEM keystore/truststore) and a private Redis requiring an
ACL user (the default user disabled). The real worker, exporter and `kpimon publish` run
against them with the right credentials; wrong passwords are refused; the Kafka, Redis and
webhook secrets never appear in any captured log, error message or /metrics.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from kafka import KafkaConsumer

from tests.integration.chaos.scenario import start_exporter, wait_status
from tests.integration.chaos.services import PrivateKafka, PrivateRedis, make_tls
from tests.integration.kpi_logs import kpi_series
from tests.integration.monitor import Monitor, free_port

pytestmark = pytest.mark.integration

KAFKA_PASSWORD = "kafka-S3cret-7f3a91"
KAFKA_ADMIN_PASSWORD = "kafka-Adm1n-52c0d8"
REDIS_PASSWORD = "redis-S3cret-b81e44"
WEBHOOK_SECRET = "webhook-S3cret-0c9d2e"
SECRETS = (KAFKA_PASSWORD, KAFKA_ADMIN_PASSWORD, REDIS_PASSWORD, WEBHOOK_SECRET)

LOG = (
    b'{"event_id":"sec-1","event_type":"inventory.snapshot",'
    b'"occurred_at":"2026-04-01T10:00:00+00:00","sku":"S1","location":"SEC-1","on_hand":4,'
    b'"on_order":0,"in_transit":0,"unit_cost":2.0}\n'
    b'{"event_id":"sec-2","event_type":"inventory.adjusted",'
    b'"occurred_at":"2026-04-01T11:00:00+00:00","sku":"S1","location":"SEC-1","delta":-4,'
    b'"reason":"count"}\n'
)


@pytest.fixture(scope="module")
def secure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[PrivateKafka, PrivateRedis]]:
    base = tmp_path_factory.mktemp("secure")
    tls = make_tls(base / "tls")
    broker = PrivateKafka(
        base / "kafka",
        scram_users={"admin": KAFKA_ADMIN_PASSWORD, "kpimon": KAFKA_PASSWORD},
        tls=tls,
    )
    redis = PrivateRedis(base / "redis", username="kpimon", password=REDIS_PASSWORD)
    redis.start()
    try:
        broker.start()
        yield broker, redis
    finally:
        broker.stop()
        redis.stop()


class AuthMonitor(Monitor):
    """A Monitor whose own Redis reads (counters, snapshot) log in as the ACL user."""

    def redis(self) -> redis_lib.Redis:
        return redis_lib.Redis.from_url(self.redis_url, username="kpimon", password=REDIS_PASSWORD)


def _monitor(broker: PrivateKafka, redis: PrivateRedis, log_dir: Path, **overrides: str) -> Monitor:
    env = {
        "KPIMON_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
        "KPIMON_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
        "KPIMON_KAFKA__SASL_USERNAME": "kpimon",
        "KPIMON_KAFKA__SASL_PASSWORD": KAFKA_PASSWORD,
        "KPIMON_KAFKA__SSL_CAFILE": str(broker.tls["ca"]),
        "KPIMON_REDIS__USERNAME": "kpimon",
        "KPIMON_REDIS__PASSWORD": REDIS_PASSWORD,
        # A webhook that is down: delivery fails and is retried, the secret must not leak.
        "KPIMON_ALERTS__WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/webhook",
        "KPIMON_ALERTS__WEBHOOK_SECRET": WEBHOOK_SECRET,
        "KPIMON_LOG_LEVEL": "DEBUG",
    }
    env.update(overrides)
    return AuthMonitor(
        kafka_bootstrap=broker.bootstrap, redis_url=redis.url, log_dir=log_dir, extra_env=env
    )


def _assert_no_secret(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a secret appears in {where}"


def test_worker_and_publish_over_sasl_ssl_with_redis_acl(secure, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broker, redis = secure
    monitor = _monitor(broker, redis, tmp_path)
    try:
        created = monitor.kpimon("topics", "create")
        assert created.returncode == 0, created.stderr.decode()[-2000:]
        monitor.start("worker")
        wait_status(monitor)
        published = monitor.kpimon("publish", "-", input=LOG)
        assert published.returncode == 0, published.stderr.decode()[-2000:]
        monitor.wait_processed(2, timeout=120)
        monitor.wait_snapshot_of(2)
        start_exporter(monitor)
        series = kpi_series(monitor)
        assert any(dict(labels).get("location") == "SEC-1" for _name, labels in series)
        metrics = monitor.metrics_text()
        worker_metrics = subprocess.run(
            ["curl", "-fsS", f"http://127.0.0.1:{monitor.worker_port}/metrics"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    finally:
        monitor.stop()
    for where, text in {
        "/metrics": metrics,
        "worker /metrics": worker_metrics,
        "worker log": monitor.log_text("worker"),
        "exporter log": monitor.log_text("exporter"),
        "publish output": (published.stdout + published.stderr).decode(errors="replace"),
        "topics output": (created.stdout + created.stderr).decode(errors="replace"),
    }.items():
        _assert_no_secret(where, text)
    assert "kpimon_exporter_redis_up 1.0" in metrics


def test_plaintext_and_anonymous_clients_are_refused(secure) -> None:  # type: ignore[no-untyped-def]
    broker, redis = secure
    with pytest.raises(Exception):  # noqa: B017 - any refusal will do, as long as it is one
        KafkaConsumer(
            bootstrap_servers=broker.bootstrap,
            request_timeout_ms=4000,
            api_version_auto_timeout_ms=4000,
        ).topics()
    with pytest.raises(redis_lib.AuthenticationError):
        redis_lib.Redis.from_url(redis.url).get("x")  # the default user is off


@pytest.mark.parametrize("what", ["kafka", "redis"])
def test_a_wrong_password_is_refused_and_not_echoed(secure, tmp_path: Path, what: str) -> None:  # type: ignore[no-untyped-def]
    broker, redis = secure
    wrong = "wrong-" + (KAFKA_PASSWORD if what == "kafka" else REDIS_PASSWORD)[::-1]
    key = "KPIMON_KAFKA__SASL_PASSWORD" if what == "kafka" else "KPIMON_REDIS__PASSWORD"
    monitor = _monitor(broker, redis, tmp_path, **{key: wrong})
    if what == "kafka":
        result = monitor.kpimon("publish", "-", input=LOG, timeout=120)
        assert result.returncode != 0
        output = (result.stdout + result.stderr).decode(errors="replace")
        assert "uthentication" in output, output[-2000:]
        _assert_no_secret("publish output", output)
        assert wrong not in output
    else:
        monitor.start("exporter")
        try:
            start_exporter_failed = None
            try:
                text = _metrics_after_start(monitor)
            except AssertionError as error:  # pragma: no cover - reported below
                start_exporter_failed = error
                text = ""
        finally:
            monitor.stop()
        assert start_exporter_failed is None, start_exporter_failed
        assert "kpimon_exporter_redis_up 0.0" in text
        log = monitor.log_text("exporter")
        for where, content in {"/metrics": text, "exporter log": log}.items():
            _assert_no_secret(where, content)
            assert wrong not in content


def _metrics_after_start(monitor: Monitor) -> str:
    from tests.integration.monitor import wait_for

    return wait_for(
        lambda: (t := monitor.metrics_text()) and "kpimon_exporter_redis_up" in t and t,
        timeout=60,
        what="the exporter's /metrics",
    )
