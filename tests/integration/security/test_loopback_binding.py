"""The exporter and the worker listen on 127.0.0.1 only when no host is configured."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from streams.settings import Settings
from tests.integration.chaos.scenario import start_exporter, wait_status
from tests.integration.monitor import Monitor, wait_for

pytestmark = pytest.mark.integration


def listeners(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp*) listening on `port`."""
    found: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A = LISTEN
                found.add(address)
    return found


def test_defaults_are_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("KPIMON_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("KPIMON_ENV_FILE", "/nonexistent")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.exporter.host == "127.0.0.1"
    assert settings.worker.host == "127.0.0.1"


def test_exporter_and_worker_bind_loopback_by_default(  # type: ignore[no-untyped-def]
    local_stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no host configured, the exporter and worker listen on 127.0.0.1 only."""
    for name in ("KPIMON_EXPORTER__HOST", "KPIMON_WORKER__HOST"):
        monkeypatch.delenv(name, raising=False)  # the default is what is tested
    monitor = Monitor(
        kafka_bootstrap=local_stack.kafka_bootstrap,
        redis_url=local_stack.redis_url,
        log_dir=tmp_path,
    )
    for name in ("KPIMON_EXPORTER__HOST", "KPIMON_WORKER__HOST"):
        assert name not in monitor.env
    try:
        monitor.create_topics()
        monitor.start("worker")
        wait_status(monitor)
        start_exporter(monitor)
        loopback = {"0100007F", "0000000000000000FFFF00000100007F"}
        for port in (monitor.exporter_port, monitor.worker_port):
            bound = wait_for(lambda p=port: listeners(p), timeout=30, what=f"a listener on {port}")
            assert bound <= loopback, f"port {port} listens on {bound}"
    finally:
        monitor.stop()
