"""Absent ratios, medians, spread and exact sums."""

from __future__ import annotations

import math
import random

import pytest

from streams.core.ratios import ExactSum, coefficient_of_variation, mean_pvariance, median, ratio


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"), [(1.0, 4.0, 0.25), (0.0, 5.0, 0.0), (3.0, 0.0, None)]
)
def test_ratio(numerator: float, denominator: float, expected: float | None) -> None:
    """A ratio is None (absent) exactly when its denominator is 0."""
    assert ratio(numerator, denominator) == expected


@pytest.mark.parametrize(
    ("values", "expected"), [([], None), ([5.0], 5.0), ([3.0, 1.0, 2.0], 2.0), ([4.0, 1.0], 2.5)]
)
def test_median(values: list[float], expected: float | None) -> None:
    """The median is the middle value, the mean of the middle two, or None for no values."""
    assert median(values) == expected


@pytest.mark.parametrize(
    ("values", "mean", "variance", "cv"),
    [
        ([30.0, 0.0, 0.0], 10.0, 200.0, math.sqrt(200.0) / 10.0),
        ([1.0, 1.0, 1.0], 1.0, 0.0, 0.0),
        ([0.0, 0.0], 0.0, 0.0, None),  # mean 0: no CV
        ([5.0], 5.0, 0.0, None),  # a single day: no CV
    ],
)
def test_spread(values: list[float], mean: float, variance: float, cv: float | None) -> None:
    """Population variance; the CV needs at least 2 values and a positive mean."""
    assert mean_pvariance(values) == (mean, variance)
    assert coefficient_of_variation(values) == cv


def test_exact_sum_does_not_depend_on_order_or_grouping() -> None:
    """Values added one by one in any order, then the rest in bulk: the correctly rounded total."""
    rng = random.Random(3)
    values = [rng.uniform(-1e6, 1e6) * 10 ** rng.randint(-8, 8) for _ in range(500)]
    expected = math.fsum(values)
    for _ in range(5):
        rng.shuffle(values)
        split = rng.randrange(len(values))
        total = ExactSum()
        for v in values[:split]:
            total.add(v)
        assert total.total(values[split:]) == expected
