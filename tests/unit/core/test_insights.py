"""Change ratios, moves and the four insight signals of SPEC §4.3, with hand-worked values."""

from __future__ import annotations

import pytest

from streams.core.insights import change_ratio, insights, move

NOISE, TOLERANCE = 0.01, 0.02


@pytest.mark.parametrize(
    ("current", "prior", "expected"),
    [
        (12.0, 10.0, 0.2),
        (8.0, 10.0, -0.2),
        (-3.0, -2.0, -0.5),  # (-3 - -2) ÷ |-2|
        (5.0, 0.0, None),  # a prior of 0 has no ratio
        (None, 10.0, None),
        (10.0, None, None),
    ],
)
def test_change_ratio(current: float | None, prior: float | None, expected: float | None) -> None:
    """The change ratio is (current - prior) ÷ |prior|, absent without a prior or from 0."""
    assert change_ratio(current, prior) == expected


@pytest.mark.parametrize(
    ("current", "prior", "expected"),
    [
        (10.2, 10.0, 1),  # +2 % > 1 %
        (10.05, 10.0, 0),  # +0.5 %: inside the noise band
        (9.95, 10.0, 0),
        (9.8, 10.0, -1),
        (1.0, 0.0, 1),  # from 0, any positive value is up
        (0.0, 0.0, 0),
        (None, 1.0, None),
    ],
)
def test_move(current: float | None, prior: float | None, expected: int | None) -> None:
    """Up and down need a change beyond the noise; from a prior of 0 any positive value is up."""
    assert move(current, prior, NOISE) == expected


BASE = {
    "turns": 10.0,
    "days_inventory_outstanding": 36.5,
    "average_inventory_value": 1_000_000.0,
    "fill_rate": 0.90,
    "stockout_events": 4.0,
    "expedite_cost_sales": 0.02,
    "forecast_wape": 0.30,
}


def _with(**changes: float | None) -> dict[str, float]:
    out = dict(BASE)
    for key, value in changes.items():
        if value is None:
            out.pop(key)
        else:
            out[key] = value
    return out


@pytest.mark.parametrize(
    ("case", "current", "expected"),
    [
        (
            "turns up, stockouts flat, fill rate up, inventory flat: everything holds",
            _with(turns=12.0, days_inventory_outstanding=30.4, fill_rate=0.95),
            {
                "turns_without_stockouts": 1,
                "service_without_inventory": 1,
                "fewer_surprises": 0,  # nothing down
                "simultaneous_improvement": 0,  # risk unchanged
            },
        ),
        (
            "turns up with more stockouts; fill rate up only with 10 % more inventory",
            _with(turns=12.0, stockout_events=6.0, fill_rate=0.95, average_inventory_value=1.1e6),
            {
                "turns_without_stockouts": -1,
                "service_without_inventory": -1,
                "fewer_surprises": 0,  # one up only
                "simultaneous_improvement": -1,  # risk worse
            },
        ),
        (
            "inventory up 1.5 %, inside the 2 % tolerance",
            _with(fill_rate=0.95, average_inventory_value=1.015e6),
            {
                "turns_without_stockouts": 0,
                "service_without_inventory": 1,
                "fewer_surprises": 0,
                "simultaneous_improvement": 0,
            },
        ),
        (
            "every family improves",
            _with(
                turns=11.0,
                days_inventory_outstanding=33.0,
                fill_rate=0.93,
                stockout_events=2.0,
                forecast_wape=0.25,
            ),
            {
                "turns_without_stockouts": 1,
                "service_without_inventory": 1,
                "fewer_surprises": 1,
                "simultaneous_improvement": 1,
            },
        ),
        (
            "two surprises up",
            _with(expedite_cost_sales=0.03, forecast_wape=0.40),
            {
                "turns_without_stockouts": 0,
                "service_without_inventory": 0,
                "fewer_surprises": -1,
                "simultaneous_improvement": 0,
            },
        ),
        (
            "changes inside the noise band are unchanged",
            _with(turns=10.05, fill_rate=0.9005, stockout_events=4.0, forecast_wape=0.2999),
            {
                "turns_without_stockouts": 0,
                "service_without_inventory": 0,
                "fewer_surprises": 0,
                "simultaneous_improvement": 0,
            },
        ),
        (
            "no fill rate and no forecasts now: the insights reading them are absent or partial",
            _with(fill_rate=None, forecast_wape=None, stockout_events=2.0),
            {
                "turns_without_stockouts": 0,
                "service_without_inventory": None,
                "fewer_surprises": 1,  # stockouts down, expedite flat
                "simultaneous_improvement": None,
            },
        ),
    ],
)
def test_insights(case: str, current: dict[str, float], expected: dict[str, int | None]) -> None:
    """Each insight reads its seed sentence over the current and prior window."""
    assert insights(current, BASE, NOISE, TOLERANCE) == expected, case


def test_absent_prior_makes_every_insight_absent() -> None:
    """A window without a prior (a young monitor) has no insight at all."""
    assert set(insights(BASE, {}, NOISE, TOLERANCE).values()) == {None}


def test_stockouts_from_zero_are_up() -> None:
    """From a prior of 0 stockouts, one stockout is up: turns up then violates the insight."""
    prior = _with(stockout_events=0.0)
    current = _with(turns=12.0, stockout_events=1.0)
    assert insights(current, prior, NOISE, TOLERANCE)["turns_without_stockouts"] == -1
