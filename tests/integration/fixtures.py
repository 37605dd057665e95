"""Fixtures that run the real worker and exporter (imported by conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.integration.monitor import Monitor, wait_for

MonitorFactory = Callable[..., Monitor]


@pytest.fixture(scope="module")
def monitor_factory(
    local_stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MonitorFactory]:  # type: ignore[no-untyped-def]
    """Start isolated monitors (own topics, group, Redis prefix, ports); stop them afterwards."""
    started: list[Monitor] = []

    def start(extra_env: dict[str, str] | None = None, exporter: bool = True) -> Monitor:
        monitor = Monitor(
            kafka_bootstrap=local_stack.kafka_bootstrap,
            redis_url=local_stack.redis_url,
            log_dir=tmp_path_factory.mktemp("monitor"),
            extra_env=extra_env or {},
        )
        started.append(monitor)
        monitor.create_topics()
        monitor.start("worker")
        if exporter:
            monitor.start("exporter")
            wait_for(
                lambda: (
                    httpx.get(
                        f"http://127.0.0.1:{monitor.exporter_port}/metrics", timeout=2
                    ).status_code
                    == 200
                ),
                timeout=30,
                what="the exporter",
            )
        try:
            wait_for(
                lambda: monitor.redis().get(f"{monitor.key_prefix}worker:status"),
                timeout=90,
                what="the worker's first status report",
            )
        except AssertionError as error:
            pytest.fail(f"{error}\nworker log:\n{monitor.log_text('worker')[-4000:]}")
        return monitor

    yield start
    for monitor in started:
        monitor.stop()
