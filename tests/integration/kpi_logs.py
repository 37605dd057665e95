"""Simulator logs and served KPI series, shared by the end-to-end and chaos tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from streams.simulate.config import SimulationConfig
from streams.simulate.generator import generate, write_jsonl
from tests.integration.monitor import Monitor

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def simulator_log(directory: Path, seed: int, events: int) -> Path:
    """A deterministic simulator log (3 locations, 12 SKUs), written once per seed and size."""
    path = directory / f"sim-{seed}-{events}.jsonl"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        config = SimulationConfig(seed=seed, locations=3, skus=12, start=START, events=events)
        write_jsonl(generate(config), path)
    return path


def kpi_series(monitor: Monitor) -> Series:
    """Every inventory_* sample the exporter serves, keyed by name and labels."""
    series: Series = {}
    for family in text_string_to_metric_families(monitor.metrics_text()):
        for sample in family.samples:
            if sample.name.startswith("inventory_"):
                series[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return series
