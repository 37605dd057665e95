"""The sample shape and the metric catalog agree with what the engine emits and METRICS.md lists."""

from __future__ import annotations

import re
from pathlib import Path

from streams.core.samples import METRICS, REPLAN_HISTOGRAM, sample
from tests.unit.core.helpers import run
from tests.unit.core.simlog import simulated_events
from tests.unit.core.test_planning import replan_log

METRICS_MD = Path(__file__).resolve().parents[3] / "docs" / "METRICS.md"


def family(name: str) -> str:
    for suffix in ("_bucket", "_count", "_sum"):
        if name == REPLAN_HISTOGRAM + suffix:
            return REPLAN_HISTOGRAM
    return name


def test_sample_labels_are_sorted_by_key() -> None:
    """`sample()` sorts labels by name whatever order they are given in."""
    assert sample("x", 1.0, window="7d", location="L1").labels == (
        ("location", "L1"),
        ("window", "7d"),
    )


def test_every_emitted_sample_is_in_the_catalog_with_its_labels() -> None:
    """Each sample belongs to a catalog family and carries exactly that family's labels."""
    engine = run([*simulated_events(1500, seed=4, locations=2, skus=8, days=16.0), *replan_log()])
    seen: set[str] = set()
    for s in engine.samples():
        info = METRICS[family(s.name)]
        names = tuple(k for k, _v in s.labels)
        expected = set(info.labels) | ({"le"} if s.name.endswith("_bucket") else set())
        assert set(names) == expected, s
        assert list(names) == sorted(names)
        seen.add(family(s.name))
    assert seen == set(METRICS)  # the log exercises every family


def test_catalog_matches_metrics_md() -> None:
    """The catalog lists every inventory_* metric of docs/METRICS.md and nothing else."""
    documented = set(re.findall(r"`(inventory_[a-z_]+)(?:\{[^`]*\})?`", METRICS_MD.read_text()))
    # "the same for `inventory_otif_by_*_ratio`"
    documented |= {
        f"inventory_otif_by_{dim}_ratio" for dim in ("region", "channel", "customer_tier")
    }
    assert set(METRICS) == documented


def test_counter_and_histogram_kinds() -> None:
    """Counters are named `_total`, the time-to-replan family is a histogram, the rest gauges."""
    for name, info in METRICS.items():
        if name == REPLAN_HISTOGRAM:
            assert info.kind == "histogram"
        elif name.endswith("_total"):
            assert info.kind == "counter"
        else:
            assert info.kind == "gauge"
        assert "(" in info.help  # the unit is stated
