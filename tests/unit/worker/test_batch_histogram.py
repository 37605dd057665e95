"""The worker's batch-observed histogram counts like a Prometheus histogram (le is inclusive)."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from streams.worker.metrics import BatchHistogram


@pytest.mark.parametrize(
    ("values", "expected_cumulative", "expected_sum"),
    [
        ([], [0, 0, 0], 0.0),
        ([0.5], [1, 1, 1], 0.5),
        ([1.0], [1, 1, 1], 1.0),  # on a bound: counted in that bucket (le)
        ([1.5, 2.0], [0, 2, 2], 3.5),
        ([0.0, 7.0, 2.5], [1, 1, 3], 9.5),
    ],
)
def test_observe_many_fills_cumulative_buckets(
    values: list[float], expected_cumulative: list[int], expected_sum: float
) -> None:
    """Each value lands in the first bucket whose bound is >= it; +Inf holds everything."""
    histogram = BatchHistogram("x_seconds", "test", buckets=(1, 2, float("inf")))
    histogram.observe_many(values)
    (family,) = histogram.collect()
    buckets = {s.labels["le"]: s.value for s in family.samples if s.name == "x_seconds_bucket"}
    assert [buckets["1.0"], buckets["2.0"], buckets["+Inf"]] == expected_cumulative
    totals = {s.name: s.value for s in family.samples if not s.name.endswith("_bucket")}
    assert totals == {"x_seconds_count": len(values), "x_seconds_sum": expected_sum}


def test_exposition_is_a_valid_histogram() -> None:
    """Served through a registry, it renders the standard _bucket/_count/_sum series."""
    registry = CollectorRegistry()
    histogram = BatchHistogram("lag_seconds", "Lag.", buckets=(0.1, float("inf")))
    registry.register(histogram)
    histogram.observe_many([0.05, 3.0])
    text = generate_latest(registry).decode()
    assert 'lag_seconds_bucket{le="0.1"} 1.0' in text
    assert 'lag_seconds_bucket{le="+Inf"} 2.0' in text
    assert "lag_seconds_count 2.0" in text
    assert "# TYPE lag_seconds histogram" in text
