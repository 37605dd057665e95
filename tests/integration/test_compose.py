"""docker-compose.yml is valid and stays in step with the local stack (no Docker engine here)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
INFRA = {"kafka", "redis", "prometheus", "alertmanager", "grafana"}
MONITOR = {"worker", "exporter", "simulator"}


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = _load(COMPOSE_FILE)
    return data


def test_docker_compose_accepts_the_file() -> None:
    """Debian's docker-compose validates the file against its schema without an engine."""
    docker_compose = shutil.which("docker-compose")
    assert docker_compose, "docker-compose is missing: run `make install`"
    result = subprocess.run(
        [docker_compose, "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_has_the_five_components_and_the_monitor(compose: dict[str, Any]) -> None:
    """The five components of the architecture plus worker, exporter and simulator are there."""
    assert set(compose["services"]) >= INFRA | MONITOR
    for name in MONITOR:
        service = compose["services"][name]
        assert service["build"] == "."
        env = service["environment"]
        assert env["KPIMON_KAFKA__BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["KPIMON_REDIS__URL"] == "redis://redis:6379/0"


def test_compose_kafka_matches_the_local_broker(compose: dict[str, Any]) -> None:
    """The compose broker runs the Kafka version the local stack resolves with Maven, in KRaft."""
    pom = (REPO_ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    assert match
    kafka = compose["services"]["kafka"]
    assert kafka["image"] == f"apache/kafka:{match.group(1)}"
    assert kafka["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_compose_redis_fsyncs_every_write(compose: dict[str, Any]) -> None:
    """Compose Redis uses the same durability as the local one: AOF fsynced on every write."""
    command = " ".join(compose["services"]["redis"]["command"])
    assert compose["services"]["redis"]["image"] == "redis:7"
    assert "--appendonly yes" in command
    assert "--appendfsync always" in command


def test_compose_prometheus_scrapes_the_same_jobs_as_the_local_stack() -> None:
    """Both Prometheus configs scrape the same jobs every 5s, so rules and boards work on both."""
    local = _load(REPO_ROOT / "deploy" / "prometheus" / "prometheus.yml")
    composed = _load(REPO_ROOT / "deploy" / "compose" / "prometheus.yml")

    def jobs(config: dict[str, Any]) -> set[str]:
        return {job["job_name"] for job in config["scrape_configs"]}

    assert jobs(local) == jobs(composed)
    assert {"prometheus", "kpimon-exporter", "kpimon-worker"} <= jobs(local)
    assert local["global"] == composed["global"]
    assert local["rule_files"] == ["../../alerts/prometheus/*.yml"]
    assert composed["rule_files"] == ["/etc/prometheus/rules/*.yml"]


def test_compose_mounts_configs_that_exist(compose: dict[str, Any]) -> None:
    """Every file or directory that compose bind-mounts exists in the repository."""
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (REPO_ROOT / source).exists(), f"{name}: {source} is missing"
    grafana = REPO_ROOT / "deploy" / "grafana" / "provisioning"
    datasource = _load(grafana / "datasources" / "prometheus.yml")["datasources"][0]
    assert (datasource["uid"], datasource["url"]) == ("prometheus", "http://prometheus:9090")
    provider = _load(grafana / "dashboards" / "kpimon.yml")["providers"][0]
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"
