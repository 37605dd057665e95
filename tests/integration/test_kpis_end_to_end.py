"""KPIs served after a simulator log went through the real Kafka, worker, Redis and exporter."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from streams.settings import KpiSettings
from tests.integration.fixtures import MonitorFactory
from tests.integration.kpi_logs import Series, kpi_series, simulator_log
from tests.integration.monitor import Monitor, wait_for
from tests.reference.batch_kpis import compare, compute, load_jsonl, parse_exposition

pytestmark = pytest.mark.integration

EVENTS = 3000


def feed(monitor: Monitor, log: Path, times: int = 1) -> None:
    """Publish the log `times` times with `kpimon publish`, then wait for the worker."""
    lines = sum(1 for line in log.read_bytes().splitlines() if line.strip())
    for _ in range(times):
        result = monitor.kpimon("publish", str(log))
        assert result.returncode == 0, result.stderr.decode()[-2000:]
    settle(monitor, lines * times, lines)


def settle(monitor: Monitor, messages: int, events: int) -> None:
    """Wait until `messages` are accounted for and the KPIs reflect `events` distinct events."""
    monitor.wait_processed(messages, timeout=180)
    monitor.wait_snapshot_of(events)


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="module")
def clean_pass(monitor_factory: MonitorFactory, logs: Path) -> Series:
    """KPIs after one clean pass of the seed-1 log."""
    monitor = monitor_factory()
    feed(monitor, simulator_log(logs, 1, EVENTS))
    series = kpi_series(monitor)
    assert series, "the exporter served no KPI"
    return series


@pytest.mark.parametrize("seed", [1, 2])
def test_kpis_match_the_batch_reference(
    monitor_factory: MonitorFactory, logs: Path, seed: int
) -> None:
    """Every KPI served equals an independent batch computation of the same log."""
    log = simulator_log(logs, seed, EVENTS)
    monitor = monitor_factory()
    feed(monitor, log)
    expected = compute(load_jsonl(log), KpiSettings())
    served = parse_exposition(monitor.metrics_text())
    mismatches = compare(expected, served)
    assert not mismatches, "\n".join(mismatches[:40])


def test_replay_from_the_start_gives_identical_kpis(
    monitor_factory: MonitorFactory, logs: Path, clean_pass: Series
) -> None:
    """A fresh monitor replaying the same log serves exactly the same KPIs."""
    monitor = monitor_factory()
    feed(monitor, simulator_log(logs, 1, EVENTS))
    assert kpi_series(monitor) == clean_pass


def test_duplicate_publication_changes_nothing(
    monitor_factory: MonitorFactory, logs: Path, clean_pass: Series
) -> None:
    """Publishing the whole log twice counts each event once and leaves the KPIs unchanged."""
    log = simulator_log(logs, 1, EVENTS)
    monitor = monitor_factory()
    feed(monitor, log, times=2)
    assert kpi_series(monitor) == clean_pass
    counters = monitor.counters()
    duplicates = sum(v for k, v in counters.items() if k.startswith("events_duplicate_total"))
    stored = sum(v for k, v in counters.items() if k.startswith("events_total"))
    assert duplicates == stored == len(load_jsonl(log))


def test_sigkill_mid_stream_and_restart_give_identical_kpis(
    monitor_factory: MonitorFactory, logs: Path, clean_pass: Series
) -> None:
    """SIGKILLing the worker twice mid-stream neither loses nor doubles an event."""
    log = simulator_log(logs, 1, EVENTS)
    total = len(load_jsonl(log))
    # Small batches so the kills land mid-stream rather than after the last batch.
    monitor = monitor_factory({"KPIMON_WORKER__BATCH_SIZE": "25"})
    monitor.kill("worker")
    result = monitor.kpimon("publish", str(log))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    for fraction in (0.15, 0.45):
        monitor.start("worker")
        wait_for(
            lambda f=fraction: monitor.processed() >= total * f,
            timeout=180,
            interval=0.02,
            what=f"{fraction:.0%} processed",
        )
        monitor.kill("worker", signal.SIGKILL)
    assert monitor.processed() < total, "the kills came too late to be mid-stream"
    monitor.start("worker")
    settle(monitor, total, total)
    assert kpi_series(monitor) == clean_pass
    counters = monitor.counters()
    assert sum(v for k, v in counters.items() if k.startswith("events_duplicate_total")) == 0
    assert sum(v for k, v in counters.items() if k.startswith("events_total")) == total
