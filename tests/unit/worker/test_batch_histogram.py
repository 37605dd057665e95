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


@pytest.mark.parametrize(
    ("now", "stamps"),
    [
        (100.0, []),
        (100.0, [99.0, 98.0, 97.5]),  # lags 1, 2, 2.5: two on bounds
        (100.0, [100.0, 101.5, 99.9]),  # the future counts as 0
        (1_764_300_000.123, [1_764_300_000.123 - d for d in (0.1, 0.25, 1.0, 2.0, 2.0000001)]),
        (1_764_300_000.5, [1_764_299_999.5, 1_764_299_998.5, 1_764_299_998.4999998, 1e9]),
    ],
)
def test_observe_elapsed_matches_observe_many_of_the_differences(
    now: float, stamps: list[float]
) -> None:
    """Lags from timestamps land in exactly the buckets, and add to exactly the sum, of
    observe_many over max(0, now - t)."""
    by_stamps = BatchHistogram("x_seconds", "test", buckets=(0.1, 1, 2, float("inf")))
    by_values = BatchHistogram("x_seconds", "test", buckets=(0.1, 1, 2, float("inf")))
    by_stamps.observe_elapsed(now, reversed(stamps))
    by_values.observe_many([max(0.0, now - t) for t in stamps])
    assert by_stamps.counts == by_values.counts
    assert by_stamps.total == by_values.total


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


def test_merge_adds_counts_and_sum_of_a_histogram_with_the_same_buckets() -> None:
    """Merging the KPI process's per-batch histogram equals observing the values here."""
    merged = BatchHistogram("x_seconds", "test", buckets=(1, 2, float("inf")))
    direct = BatchHistogram("x_seconds", "test", buckets=(1, 2, float("inf")))
    batch = BatchHistogram("x_seconds", "test", buckets=(1, 2, float("inf")))
    merged.observe_many([0.5])
    batch.observe_many([1.5, 7.0])
    merged.merge(batch.counts, batch.total)
    direct.observe_many([0.5, 1.5, 7.0])
    assert (merged.counts, merged.total) == (direct.counts, direct.total)
    with pytest.raises(ValueError, match="bucket counts"):
        merged.merge([1, 2], 0.0)
