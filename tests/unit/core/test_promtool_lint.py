"""`promtool check metrics` finds nothing in the KPI series but the documented `_days` units."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from streams.core.samples import METRICS, REPLAN_HISTOGRAM
from tests.unit.core.helpers import run
from tests.unit.core.simlog import simulated_events
from tests.unit.core.test_planning import replan_log

# The unit advice promtool gives on series whose unit is days, as documented in
# docs/METRICS.md ("promtool check metrics"): the only findings allowed.
DAYS_SERIES = frozenset(
    {
        "inventory_days_inventory_outstanding_days",
        "inventory_window_covered_days",
        "inventory_at_risk_days_of_cover",
    }
)


class _Families(Collector):
    """Every catalog family with the values an engine computed, as the exporter types them."""

    def __init__(self) -> None:
        engine = run(
            [*simulated_events(1500, seed=4, locations=2, skus=8, days=10.0), *replan_log()]
        )
        self.samples = engine.samples()

    def collect(self) -> Iterator[Metric]:
        for name, info in sorted(METRICS.items()):
            if info.kind == "histogram":
                yield self._histogram(name, info.help)
                continue
            labels = list(info.labels)
            family: GaugeMetricFamily | CounterMetricFamily
            if info.kind == "counter":
                family = CounterMetricFamily(name.removesuffix("_total"), info.help, labels=labels)
            else:
                family = GaugeMetricFamily(name, info.help, labels=labels)
            for s in self.samples:
                if s.name == name:
                    family.add_metric([dict(s.labels)[k] for k in labels], s.value)
            yield family

    def _histogram(self, name: str, help_text: str) -> HistogramMetricFamily:
        family = HistogramMetricFamily(name, help_text, labels=["location"])
        by_location: dict[str, dict[str, float]] = {}
        for s in self.samples:
            if s.name.startswith(REPLAN_HISTOGRAM):
                labels = dict(s.labels)
                key = labels.get("le", s.name.removeprefix(REPLAN_HISTOGRAM))
                by_location.setdefault(labels["location"], {})[key] = s.value
        for location, values in sorted(by_location.items()):
            buckets = [(le, v) for le, v in values.items() if not le.startswith("_")]
            family.add_metric([location], buckets, values["_sum"])
        return family


def test_promtool_finds_nothing_but_the_days_units() -> None:
    """Linting an exposition of every KPI family leaves only the unit advice on `_days` series
    (no gauge named like a summary, no counter without `_total`)."""
    assert shutil.which("promtool"), "promtool is missing: `make install` installs prometheus"
    registry = CollectorRegistry()
    registry.register(_Families())
    text = generate_latest(registry)
    result = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, timeout=60
    )
    findings = [line for line in (result.stdout + result.stderr).decode().splitlines() if line]
    assert findings, "expected the documented unit advice"
    for line in findings:
        name, _, advice = line.partition(" ")
        assert name in DAYS_SERIES and advice == 'use base unit "seconds" instead of "days"', line
